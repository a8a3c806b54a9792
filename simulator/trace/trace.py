"""The trace itself: a bounded ring of entries, conversation links, live listeners and a JSON Lines file."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic_core import from_json

from simulator.clock import Clock
from simulator.logs import kv, redactor
from simulator.trace.model import TraceEntry, TraceKind
from simulator.trace.redact import redacted_text

log = logging.getLogger("simulator.trace")

# A live subscriber further behind than this is cut off (it can resume from the ring with `after=`).
SUBSCRIBER_BACKLOG = 10_000

Listener = Callable[[TraceEntry], None]


class _Kept:
    """An entry as the ring keeps it: its fields, and its detail as JSON text (parsed JSON costs
    about four times the memory, for 10,000 entries); turned back into a TraceEntry when read."""

    __slots__ = ("seq", "t", "time", "kind", "summary", "session", "conversation", "ticket", "status", "ms", "data")

    def __init__(
        self,
        seq: int,
        t: float,
        time: str,
        kind: TraceKind,
        summary: str,
        session: str | None,
        conversation: str | None,
        ticket: int | None,
        status: int | None,
        ms: float | None,
        data: str,
    ) -> None:
        self.seq, self.t, self.time, self.kind, self.summary = seq, t, time, kind, summary
        self.session, self.conversation, self.ticket, self.status, self.ms = session, conversation, ticket, status, ms
        self.data = data

    def ids(self) -> list[str]:
        return [str(value) for value in (self.session, self.conversation, self.ticket) if value is not None]

    def entry(self) -> TraceEntry:
        return TraceEntry.model_construct(
            seq=self.seq,
            t=self.t,
            time=self.time,
            kind=self.kind,
            summary=self.summary,
            session=self.session,
            conversation=self.conversation,
            ticket=self.ticket,
            status=self.status,
            ms=self.ms,
            data=from_json(self.data),
        )


@dataclass(eq=False)
class _Group:
    """The ids of one conversation as each part knows it: widget session, SunCo conversation, ticket."""

    ids: set[str] = field(default_factory=set)
    session: str | None = None
    conversation: str | None = None
    ticket: int | None = None


class Trace:
    """Every boundary crossing, in order. Redaction happens in `record`, before anything can read an entry.

    `size` bounds the in-memory ring (0 turns the trace off: `record` then does nothing). With `file`,
    every entry is also appended to it as one JSON line, so a long session can be recorded later.
    """

    def __init__(self, clock: Clock, *, size: int = 10_000, file: Path | None = None) -> None:
        self.clock = clock
        self.enabled = size > 0
        self._ring: deque[_Kept] = deque(maxlen=max(size, 1))
        self._seq = itertools.count(1)
        self._last = 0
        self._groups: dict[str, _Group] = {}
        # Groups, least recently linked first: beyond as many as the ring holds entries, the oldest
        # is forgotten (its conversation's entries have long left the ring), so links stay bounded.
        self._linked: OrderedDict[int, _Group] = OrderedDict()
        self._listeners: list[Listener] = []
        self._file: IO[str] | None = _open_private(file) if file is not None and self.enabled else None

    @property
    def last(self) -> int:
        """The sequence number of the newest entry (0 before the first)."""
        return self._last

    def record(
        self,
        kind: TraceKind,
        summary: str,
        *,
        session: str | None = None,
        conversation: str | None = None,
        ticket: int | None = None,
        status: int | None = None,
        ms: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> TraceEntry | None:
        """Add one entry (redacted), hand it to every listener, and return it; None when the trace is off."""
        kept = self._keep(kind, summary, session, conversation, ticket, status, ms, data)
        return None if kept is None else self._publish(kept, always=True)

    def note(
        self,
        kind: TraceKind,
        summary: str,
        *,
        session: str | None = None,
        conversation: str | None = None,
        ticket: int | None = None,
        status: int | None = None,
        ms: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """`record` for the hot paths: the same entry, but made into a `TraceEntry` (its detail parsed
        back from the ring's JSON text) only when a listener or the trace file takes it."""
        kept = self._keep(kind, summary, session, conversation, ticket, status, ms, data)
        if kept is not None:
            self._publish(kept, always=False)

    def _keep(
        self,
        kind: TraceKind,
        summary: str,
        session: str | None,
        conversation: str | None,
        ticket: int | None,
        status: int | None,
        ms: float | None,
        data: dict[str, Any] | None,
    ) -> _Kept | None:
        """Redact the entry and put it in the ring (None when the trace is off)."""
        if not self.enabled:
            return None
        group = self._group_of(session, conversation, ticket)
        if group is not None:
            session = session or group.session
            conversation = conversation or group.conversation
            ticket = ticket if ticket is not None else group.ticket
        self._last = next(self._seq)
        kept = _Kept(
            self._last,
            round(self.clock.monotonic(), 6),
            self.clock.now().isoformat().replace("+00:00", "Z"),
            kind,
            redactor(summary),
            session,
            conversation,
            ticket,
            status,
            None if ms is None else round(ms, 2),
            redacted_text(data or {}, redactor),
        )
        self._ring.append(kept)
        return kept

    def _publish(self, kept: _Kept, *, always: bool) -> TraceEntry | None:
        """Hand the entry to the file and every listener (built only if one of them, or `always`, wants it)."""
        if not always and self._file is None and not self._listeners:
            return None
        entry = kept.entry()
        if self._file is not None:
            self._write(entry)
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:  # one broken reader must not break the server it watches
                log.exception(kv("trace.listener_failed", listener=getattr(listener, "__qualname__", listener)))
        return entry

    def _write(self, entry: TraceEntry) -> None:
        assert self._file is not None
        try:
            self._file.write(entry.model_dump_json() + "\n")
        except OSError as exc:
            log.error(kv("trace.file_failed", error=exc.strerror))
            self._file = None

    # --- conversations ---------------------------------------------------------------------

    def link(self, *, session: str | None = None, conversation: str | None = None, ticket: int | None = None) -> None:
        """Say that these ids belong to one conversation (the relay and the workspace know the pairs)."""
        ids = [str(v) for v in (session, conversation, ticket) if v is not None]
        if len(ids) < 2 and not any(i in self._groups for i in ids):
            return
        groups = {id(g): g for g in (self._groups.get(i) for i in ids) if g is not None}
        merged = _Group()
        for group in groups.values():
            merged.ids |= group.ids
            merged.session = merged.session or group.session
            merged.conversation = merged.conversation or group.conversation
            merged.ticket = merged.ticket if merged.ticket is not None else group.ticket
        merged.ids.update(ids)
        merged.session = session or merged.session
        merged.conversation = conversation or merged.conversation
        merged.ticket = ticket if ticket is not None else merged.ticket
        for one in merged.ids:
            self._groups[one] = merged
        for old in groups:
            self._linked.pop(old, None)
        self._linked[id(merged)] = merged
        while len(self._linked) > (self._ring.maxlen or 1):
            _, oldest = self._linked.popitem(last=False)
            for one in oldest.ids:
                if self._groups.get(one) is oldest:
                    del self._groups[one]

    def _group_of(self, session: str | None, conversation: str | None, ticket: int | None) -> _Group | None:
        for value in (session, conversation, ticket):
            if value is not None and (group := self._groups.get(str(value))) is not None:
                return group
        return None

    def group(self, any_id: str) -> set[str]:
        """Every id linked with `any_id` (itself included)."""
        found = self._groups.get(any_id)
        return set(found.ids) if found else {any_id}

    # --- reading ---------------------------------------------------------------------------

    def entries(
        self,
        *,
        after: int = 0,
        conversation: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[TraceEntry]:
        """Entries newer than `after`, oldest first; `conversation` takes any id of the conversation."""
        wanted = self._matcher(conversation, kind)
        found = [kept for kept in self._ring if kept.seq > after and wanted(kept)]
        return [kept.entry() for kept in (found[:limit] if limit is not None else found)]

    def _matcher(self, conversation: str | None, kind: str | None) -> Callable[[TraceEntry | _Kept], bool]:
        def wanted(entry: TraceEntry | _Kept) -> bool:
            if kind is not None and entry.kind != kind and not entry.kind.startswith(kind + "."):
                return False
            if conversation is None:
                return True
            # Read the group at match time: links made after an entry still count.
            ids = self.group(conversation)
            return any(i in ids for i in entry.ids())

        return wanted

    def listen(self, callback: Listener) -> Callable[[], None]:
        """Call `callback` with every new entry (synchronously, so it must not block); returns an unsubscribe."""
        self._listeners.append(callback)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return stop

    async def subscribe(
        self, *, after: int | None = None, conversation: str | None = None, kind: str | None = None
    ) -> AsyncIterator[TraceEntry]:
        """Yield entries as they are recorded (first those still in the ring after `after`, if given).

        Ends when the reader falls more than SUBSCRIBER_BACKLOG entries behind; it can resume with `after`.
        """
        wanted = self._matcher(conversation, kind)
        queue: asyncio.Queue[TraceEntry | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)

        def take(entry: TraceEntry) -> None:
            if not wanted(entry):
                return
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                stop()
                log.warning(kv("trace.subscriber_dropped", why="too far behind", at=entry.seq))
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)

        # The backlog is read and the listener added with no await between: nothing is missed or doubled.
        backlog = self.entries(after=after, conversation=conversation, kind=kind) if after is not None else []
        stop = self.listen(take)
        try:
            for entry in backlog:
                yield entry
            while (item := await queue.get()) is not None:
                yield item
        finally:
            stop()

    def clear(self) -> None:
        """Forget the entries and links (the sequence keeps counting, so cursors stay valid)."""
        self._ring.clear()
        self._groups.clear()
        self._linked.clear()

    def close(self) -> None:
        """Close the JSON Lines file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _open_private(path: Path) -> IO[str]:
    """Open for appending, readable by the owner only: the trace holds what users and agents wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a", buffering=1, encoding="utf-8")
