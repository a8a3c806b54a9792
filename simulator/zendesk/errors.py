"""SunCo's error body, `{"errors": [{"code", "title"}]}`, raised as an exception from handlers."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.responses import JSONResponse

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    423: "locked",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class SuncoError(Exception):
    """An error SunCo answers with; `title` must never contain a secret."""

    def __init__(self, status: int, title: str, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.code = code or CODES.get(status, "error")
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return JSONResponse(
            {"errors": [{"code": self.code, "title": self.title}]}, status_code=self.status, headers=headers
        )


def not_found(what: str) -> SuncoError:
    return SuncoError(404, f"{what} not found")


def field_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    """One readable line per invalid field, named by its JSON path (e.g. `author.type: Field required`)."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-after"))
        path = prefix + path if path else prefix.rstrip(".") or "body"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {message}")
    return lines


def bad_request(exc: ValidationError) -> SuncoError:
    """400 naming the first bad field (SunCo answers one error per field; the first is the useful one)."""
    return SuncoError(400, field_errors(exc)[0])
