"""Redaction of trace data at the moment an entry is made: by key name, and by known secret values."""

from __future__ import annotations

import json
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
# Words one of those keys contains; text without any of them skips the walk over every key.
_KEY_WORDS = ("authorization", "key", "token", "secret", "passw", "signature", "jwt")


def _secret_key(key: str) -> bool:
    return _FOLD.sub("", key.lower()) in SECRET_KEYS


def _blank_keys(value: Any) -> Any:
    """`value` with the values of credential keys replaced, at any depth (mutates the fresh copy it is given)."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = REDACTED if item and _secret_key(str(key)) else _blank_keys(item)
    elif isinstance(value, list):
        value[:] = [_blank_keys(item) for item in value]
    return value


def redact_data(value: Any, scrub: Callable[[str], str]) -> Any:
    """A redacted copy of `value` (JSON-like): credential keys blanked, known secrets scrubbed from all text.

    The copy is made through JSON text, so the scrub runs once over the whole entry (in C-speed
    regex passes) rather than once per string.
    """
    return redacted(value, scrub)[1]


def redacted(value: Any, scrub: Callable[[str], str]) -> tuple[str, Any]:
    """`redact_data`'s copy, as its JSON text and parsed (the trace keeps the text in its ring)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
        lowered = text.lower()  # substring tests: far cheaper than one case-insensitive regex
        if any(word in lowered for word in _KEY_WORDS):
            text = json.dumps(_blank_keys(json.loads(text)), ensure_ascii=False)
        text = scrub(text)
        return text, json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        unreadable = {"unreadable": f"{type(exc).__name__}: the detail could not be kept"}
        return json.dumps(unreadable), unreadable
