"""The SunCo spec's own schemas (bundled in `sunco-v2.schema.json`): request validation and operation scopes."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.zendesk.errors import SuncoError

if TYPE_CHECKING:  # imported on the first check, off the start-up path (jsonschema: tens of milliseconds)
    import jsonschema
    import jsonschema_rs

BUNDLE = Path(__file__).with_name("sunco-v2.schema.json")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")

# Channel credentials: SunCo never shows them back on an integration.
CHANNEL_SECRET_FIELDS = frozenset(
    {
        "authToken",
        "appSecret",
        "pageAccessToken",
        "accessKey",
        "apiKey",
        "token",
        "channelSecret",
        "channelAccessToken",
        "consumerSecret",
        "accessTokenSecret",
        "password",
        "signingKey",
        "privateKey",
    }
)
# Body fields that carry credentials: errors about them never quote the value.
SECRET_NAMES = CHANNEL_SECRET_FIELDS | {
    "secret",
    "client_secret",
    "accountManagementAccessToken",
    "hsmFallbackLanguage",
}


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


@cache
def _formats() -> jsonschema.FormatChecker:
    """The formats SunCo's schemas use that we check: email and uri."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("email")(_is_email)
    checker.checks("uri")(_is_uri)
    return checker


@cache
def bundle() -> dict[str, Any]:
    """The bundled schemas (`$defs`) and `x-operations`."""
    data: dict[str, Any] = json.loads(BUNDLE.read_text())
    return data


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(
        {"$ref": f"#/$defs/{name}", "$defs": bundle()["$defs"]}, format_checker=_formats()
    )


@cache
def _fast_validator(name: str) -> jsonschema_rs.Validator | None:
    """The same schema compiled by jsonschema-rs (about 60x faster), only to tell a valid body quickly:
    the Python validator stays the judge of invalid ones and words every error. None if it cannot compile."""
    import jsonschema_rs

    try:
        return jsonschema_rs.Draft202012Validator(
            {"$ref": f"#/$defs/{name}", "$defs": bundle()["$defs"]},
            formats={"email": _is_email, "uri": _is_uri},
            validate_formats=True,
        )
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError):
        return None


def operation(operation_id: str) -> dict[str, Any]:
    """method, path, scopes and documented statuses of one spec operation."""
    op: dict[str, Any] = bundle()["x-operations"][operation_id]
    return op


def has_schema(name: str) -> bool:
    return name in bundle()["$defs"]


def errors(name: str, value: Any) -> list[str]:
    """`path: message` lines for `value` against schema `name`, the most relevant first."""
    fast = _fast_validator(name)
    if fast is not None and fast.is_valid(value):  # the common case, on every request with a body
        return []
    found = list(_validator(name).iter_errors(value))
    if not found:
        return []
    from jsonschema.exceptions import best_match

    first = best_match(found)
    ordered = [first, *(e for e in found if e is not first)]
    return [_line(e) for e in ordered]


def _line(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    message = error.message
    if error.validator == "required":
        # Name the missing field itself, as the rest of the emulator's errors do.
        parts.append(message.split("'")[1] if message.count("'") >= 2 else "?")
        message = "Field required"
    if any(str(p) in SECRET_NAMES for p in parts):
        message = "invalid value"  # never echo (part of) a credential back
    path = ".".join(parts) or "body"
    if len(message) > 200:
        message = message[:200] + "..."
    return f"{path}: {message}"


def check(name: str, value: Any, prefix: str = "") -> None:
    """Raise SunCo's 400 when `value` breaks schema `name` (the first, most relevant, error is the title);
    `prefix` is where `value` sits in the body (e.g. `messenger`)."""
    found = errors(name, value)
    if found:
        title = found[0] if not prefix else (prefix + "." + found[0]).replace(f"{prefix}.body:", f"{prefix}:")
        raise SuncoError(400, title)


def check_request(operation_id: str, body: Any) -> None:
    """Validate an operation's JSON body against its request schema from the spec, when it has one."""
    name, fast = _request_schema(operation_id)
    if name is None or (fast is not None and fast.is_valid(body)):  # `errors`' fast path, on every request
        return
    check(name, body)


@cache
def _request_schema(operation_id: str) -> tuple[str | None, jsonschema_rs.Validator | None]:
    """The operation's request schema name (None: it has none) and its fast validator."""
    name = operation_id + "Request"
    return (name, _fast_validator(name)) if has_schema(name) else (None, None)
