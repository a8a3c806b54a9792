"""Turn pydantic validation errors into one line that names the field."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, prefix: str = "") -> str:
    """`events.0.type: Field required` (first error; more are summarised by count)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return prefix or "invalid"
    first = errors[0]
    path = ".".join(str(part) for part in first["loc"])
    where = ".".join(part for part in (prefix, path) if part) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"
