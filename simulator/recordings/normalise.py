"""Stable placeholders for what legitimately differs between two runs of the same flow.

Ids (SunCo record ids, widget session and message ids, ticket ids, the app and integration ids)
become `<id:N>`, numbered in order of first appearance, so the same id is the same placeholder
everywhere in one recording; timestamps become `<time>`. Comparing two normalised runs pairs
their placeholders one to one (see `compare.py`), so the numbering itself never has to agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TIME = "<time>"
PLACEHOLDER = re.compile(r"<id:\d+>")

# Keys whose value is an id (exact value, or every item of a list of ids).
ID_KEY = re.compile(r"(?:^|_)ids?$|Ids?$|^jti$")
# Keys whose numeric or string value is a moment in time.
TIME_KEY = re.compile(r"(?:^|_)(?:time|timestamp|received|at|expires|iat|exp)$|[a-z](?:At|Time|Timestamp)$")
# Id shapes that turn up inside text (paths, tags, external ids) without a key naming them.
ID_SHAPES = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUIDs (widget sessions, messages)
    r"|(?<![0-9a-zA-Z])[0-9a-f]{24}(?![0-9a-zA-Z])"  # SunCo record ids
)
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
# Known ids shorter than this are only replaced as whole values (a ticket id `3` is not every `3`).
MIN_SUBSTRING_ID = 6


def ids_in(value: Any, key: str = "") -> Iterable[str]:
    """Every id a JSON value carries under an id-like key (recursively)."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from ids_in(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from ids_in(item, key)
    elif key and ID_KEY.search(key) and isinstance(value, str | int) and not isinstance(value, bool):
        if str(value):
            yield str(value)


class Normaliser:
    """Replaces ids and timestamps in JSON values; one instance per recording (or per replay run)."""

    def __init__(self, known_ids: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        self._names: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self.know(known_ids)

    def know(self, ids: Iterable[str]) -> None:
        """Treat these values as ids wherever they appear."""
        fresh = {i for i in ids if i and i not in self._known}
        if fresh:
            self._known |= fresh
            long_ids = sorted((i for i in self._known if len(i) >= MIN_SUBSTRING_ID), key=len, reverse=True)
            parts = [re.escape(i) for i in long_ids] + [ID_SHAPES.pattern]
            self._pattern = re.compile("|".join(parts))

    def placeholder(self, value: str) -> str:
        """The placeholder for one id (the same id always gets the same one)."""
        if value not in self._names:
            self._names[value] = f"<id:{len(self._names) + 1}>"
        return self._names[value]

    def text(self, value: str) -> str:
        """A string with every id and timestamp inside it replaced."""
        value = ISO_TIME.sub(TIME, value)
        pattern = self._pattern or ID_SHAPES
        return pattern.sub(lambda match: self.placeholder(match.group(0)), value)

    def value(self, value: Any, key: str = "") -> Any:
        """A JSON value with ids and timestamps replaced, keys kept."""
        if isinstance(value, dict):
            return {name: self.value(item, str(name)) for name, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, key) for item in value]
        if isinstance(value, bool) or value is None:
            return value
        if key and TIME_KEY.search(key) and isinstance(value, int | float | str):
            return TIME
        if isinstance(value, int) and key and ID_KEY.search(key):
            return self.placeholder(str(value))
        if isinstance(value, str):
            if key and ID_KEY.search(key) and value:
                return self.placeholder(value)
            return self.text(value)
        return value
