"""Redaction of trace data at the moment an entry is made: by key name, and by known secret values."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pydantic_core import from_json, to_json

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
    text = redacted_text(value, scrub)
    return text, from_json(text)


def redacted_text(value: Any, scrub: Callable[[str], str]) -> str:
    """`redact_data`'s copy as compact JSON text (what the trace's ring keeps; parsed only when read).

    pydantic-core's encoder and parser (native code) do what `json` did here in a third of the time;
    anything that is not JSON (a datetime, bytes) is kept as its `str`, as `json.dumps(default=str)` did.
    """
    try:
        try:
            text = to_json(value, fallback=str).decode()
        except ValueError:  # e.g. bytes that are not UTF-8: what `json` makes of them
            text = json.dumps(value, ensure_ascii=False, default=str)
        lowered = text.lower()  # substring tests: far cheaper than one case-insensitive regex
        if any(word in lowered for word in _KEY_WORDS):
            text = to_json(_blank_keys(from_json(text))).decode()
        return scrub(text)
    except (ValueError, TypeError, RecursionError) as exc:
        return json.dumps({"unreadable": f"{type(exc).__name__}: the detail could not be kept"})
