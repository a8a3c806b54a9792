"""A session's numbered events, kept compactly: each as its JSON text, read back as a dict when used.

A session keeps every event it numbered, for a user who reconnects with a cursor. As dicts (an
envelope, its payload, an id and a timestamp each) they cost about a kilobyte apiece, for as long
as the session lives; as JSON text about a third of that. They are read back only on a reconnect
(`after`) and by the odd check, so the encoding costs nothing on the way out.

With a state file, which has every event already (written before anyone sees it), memory keeps
none of them: `read_from` hands the history a reader, and the odd read goes to the file.
"""

from __future__ import annotations

import bisect
import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

LIVE_AGENT_MESSAGE = "EVENT_TYPE_LIVE_AGENT_MESSAGE"


class EventHistory(Sequence[dict[str, Any]]):
    """Events in sequence order (a list of dicts to read; `append` to add one)."""

    __slots__ = ("_texts", "_sequences", "_agent_messages", "_reader", "_count")

    def __init__(self, events: Iterable[dict[str, Any]] = ()) -> None:
        self._texts: list[str] = []
        self._sequences = array("q")
        # Live-agent message ids shown in this session (the relay may deliver one again after a crash);
        # None until the first (an empty set is 216 bytes).
        self._agent_messages: set[str] | None = None
        # Set by `read_from`: the events after a sequence, from the state file (nothing kept here).
        self._reader: Callable[[int], list[dict[str, Any]]] | None = None
        self._count = 0
        for event in events:
            self.append(event)

    def read_from(self, reader: Callable[[int], list[dict[str, Any]]]) -> None:
        """From now on read the events back with `reader(after_sequence)` (the state file, which
        has each of them): memory keeps only the count and the live-agent message ids."""
        self._reader = reader
        self._texts = []
        self._sequences = array("q")

    def append(self, event: dict[str, Any]) -> None:
        self._count += 1
        if self._reader is None:
            self._texts.append(json.dumps(event, separators=(",", ":")))
            self._sequences.append(int(event.get("sequence") or 0))
        if event.get("type") == LIVE_AGENT_MESSAGE:
            message_id = (event.get("payload") or {}).get("message_id")
            if isinstance(message_id, str):
                if self._agent_messages is None:
                    self._agent_messages = set()
                self._agent_messages.add(message_id)

    def after(self, cursor: int) -> list[dict[str, Any]]:
        """The events with a sequence above `cursor`."""
        if self._reader is not None:
            return self._reader(cursor)
        start = bisect.bisect_right(self._sequences, cursor)
        return [json.loads(text) for text in self._texts[start:]]

    def has_type(self, event_type: str) -> bool:
        """Whether an event of this type is in the history (found in the text, nothing decoded)."""
        if self._reader is not None:
            return any(event.get("type") == event_type for event in self._reader(0))
        needle = '"type":' + json.dumps(event_type)
        return any(needle in text for text in self._texts)

    def shows_agent_message(self, message_id: object) -> bool:
        """Whether a live-agent message with this id was already shown in this session."""
        return isinstance(message_id, str) and self._agent_messages is not None and message_id in self._agent_messages

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if self._reader is not None:
            return self._reader(0)[index]
        if isinstance(index, slice):
            return [json.loads(text) for text in self._texts[index]]
        loaded: dict[str, Any] = json.loads(self._texts[index])
        return loaded

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._reader is not None:
            return iter(self._reader(0))
        return (json.loads(text) for text in self._texts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventHistory | list):
            return list(self) == list(other)
        return False

    __hash__ = None  # type: ignore[assignment]
