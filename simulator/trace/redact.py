"""Redaction of trace data at the moment an entry is made: by key name, and by known secret values."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from simulator.logs import REDACTED

# Keys whose values are credentials whatever they hold (compared lower-case, '-' and '_' ignored).
SECRET_KEYS = frozenset(
    {
        "authorization",
        "xapikey",
        "apikey",
        "accesstoken",
        "token",
        "xtoken",
        "secret",
        "sharedsecret",
        "password",
        "signature",
        "xzendeskwebhooksignature",
        "keysecret",
        "jwt",
    }
)
_FOLD = re.compile(r"[-_]")
MAX_DEPTH = 32


def _secret_key(key: str) -> bool:
    return _FOLD.sub("", key.lower()) in SECRET_KEYS


def redact_data(value: Any, scrub: Callable[[str], str], depth: int = 0) -> Any:
    """A copy of `value` (JSON-like) with credential keys blanked and secret values scrubbed from text."""
    if isinstance(value, str):
        return scrub(value) if len(value) >= 8 else value
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return "[too deep]"
        return {
            str(k): (REDACTED if _secret_key(str(k)) and v else redact_data(v, scrub, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return "[too deep]"
        return [redact_data(item, scrub, depth + 1) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))
