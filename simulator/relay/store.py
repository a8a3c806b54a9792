"""The relay's persistent state: sessions, processed webhook event ids and the per-session outbox.

Two implementations behind one interface: `MemoryStore` (tests, throwaway runs) and
`SQLiteStore` (default; survives a relay restart). SQLite schema::

    sessions(session_id TEXT PRIMARY KEY, conversation_id TEXT, state TEXT, data TEXT,  -- data = SessionRecord JSON
             shown_through TEXT)                                  -- the last agent message shown (`mark_shown`)
    processed_events(event_id TEXT PRIMARY KEY, processed_at TEXT)
    inbox(id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT)                              -- data = InboxItem JSON
    outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, data TEXT)            -- data = OutboxItem JSON

Each method is one atomic step, so callers never hold a transaction across an await elsewhere.
Three writes are lazy: a handled inbox event (`inbox_remove`) and a sent outbox item
(`outbox_sent`) leave the SQLite file, and an agent message shown (`mark_shown`) is marked in it,
once the loop has nothing else ready to run (a few turns at most), in one transaction, or with
the store's next write if that comes first; reads see them at once. Written when the loop is idle
they are off every message's path: not in the path that made them (written each at once, a
message cost three transactions), and not in the next message's (which, in a quiet conversation,
came minutes later and paid for them). A crash in between only repeats what is safe to repeat:
the event is handled again (handling is idempotent), the item is looked for in SunCo before it is
posted again (it is `attempted`), the agent message is delivered again and the chat side, which
has its id, drops it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, cast, runtime_checkable

from simulator.clock import loop_busy
from simulator.config import Settings, private_file
from simulator.logs import kv
from simulator.relay.sessions import HANDED_OFF, InboxItem, OutboxItem, SessionRecord, SessionState
from simulator.wal import Checkpointer

log = logging.getLogger("simulator.relay.store")

DB_FILE = "relay.sqlite3"
# A store call yields to the loop once the loop has not gone round for this long (see `_pause`).
YIELD_AFTER_SECONDS = 0.0005
# A lazy write waits for an idle loop this many turns at most (see `_later`).
LAZY_WRITE_TURNS = 4
# Parsed session records kept for `session_view`, the most recently read: ~6.5 KB each (the handoff's
# transcript is most of it), so at most ~1.7 MB however many conversations the relay holds.
SESSION_VIEWS = 256
OutboxFlag = Literal["notified", "attempted"]
T = TypeVar("T")


@runtime_checkable
class Store(Protocol):
    """What the relay needs from its storage."""

    async def open(self) -> None:
        """Open (idempotent)."""
        ...

    async def close(self) -> None:
        """Close; a later `open` opens it again."""
        ...

    async def reset(self) -> None:
        """Forget everything."""
        ...

    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def session_view(self, session_id: str) -> SessionRecord | None:
        """The session to read, not to change: it may be the store's own (a later save replaces
        it, never changes it). `get_session` gives a copy to change and save."""
        ...

    async def save_session(self, record: SessionRecord) -> None:
        """Insert or replace the session."""
        ...

    async def find_by_conversation(self, conversation_id: str) -> SessionRecord | None:
        """The session on this SunCo conversation: a handed-off one first, else the most recently updated."""
        ...

    async def sessions_in(self, states: set[SessionState]) -> list[SessionRecord]:
        """Sessions in these states, each exactly once (start-up recovery resumes what it returns)."""
        ...

    async def mark_event(self, event_id: str, at: datetime) -> bool:
        """Record a processed event id; False when it was recorded before."""
        ...

    async def event_seen(self, event_id: str) -> bool:
        """Whether `mark_event` (or `mark_shown`) recorded this id."""
        ...

    async def mark_shown(self, session_id: str, message_id: str, at: datetime) -> None:
        """The agent message was shown to the session's user: records `message:<id>` as processed and
        the message as the session's `shown_through`, in one step (the mark may be pruned one day;
        the session keeps where reading resumes, until a save in `handing_off` starts a new handoff)."""
        ...

    async def prune_events(self, before: datetime) -> int:
        """Forget processed event ids recorded before `before`; returns how many went."""
        ...

    async def count_events(self) -> int:
        """How many processed event ids are kept (what pruning bounds)."""
        ...

    async def inbox_add(self, item: InboxItem) -> InboxItem | None:
        """Record `item.event_id` as seen and queue the event, in one step; None (nothing queued)
        when the id was seen before."""
        ...

    async def inbox_items(self) -> list[InboxItem]:
        """Accepted events not yet handled, in acceptance order."""
        ...

    async def inbox_remove(self, item_id: int) -> None:
        """The event has been handled (lazy: see the module docstring)."""
        ...

    async def outbox_add(self, item: OutboxItem) -> OutboxItem:
        """Append to the session's outbox; returns the item with its id."""
        ...

    async def outbox_items(self, session_id: str | None = None) -> list[OutboxItem]:
        """Items in order (one session, or all)."""
        ...

    async def outbox_get(self, item_id: int) -> OutboxItem | None: ...

    async def outbox_update(self, item: OutboxItem) -> None: ...

    async def outbox_mark(self, item_id: int, flag: OutboxFlag) -> None:
        """Set one boolean flag of the item (a single write; other fields are left as stored)."""
        ...

    async def outbox_remove(self, item_id: int) -> None: ...

    async def outbox_sent(self, item_id: int) -> None:
        """SunCo has the item (2xx): it leaves the outbox (lazy: see the module docstring)."""
        ...

    async def outbox_clear(self, session_id: str) -> int:
        """Drop the session's outbox; returns how many items were dropped."""
        ...


def _preference(record: SessionRecord) -> tuple[bool, datetime]:
    # Several sessions can share a SunCo conversation (same end user): the live one wins, then the newest.
    return (record.state in HANDED_OFF, record.updated_at)


R = TypeVar("R", SessionRecord, InboxItem)


def _copy(record: R) -> R:
    """A copy that shares nothing with the stored one, as the SQLite store's rows are: through JSON,
    which pydantic does in native code (about a third of `model_copy(deep=True)`'s time)."""
    return type(record).model_validate_json(record.model_dump_json())


class MemoryStore:
    """Everything in dicts; gone when the process ends (but kept across a relay restart)."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._shown: dict[str, str] = {}
        self._events: dict[str, datetime] = {}
        self._outbox: dict[int, OutboxItem] = {}
        self._inbox: dict[int, InboxItem] = {}
        self._next_id = 1

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def reset(self) -> None:
        self._sessions.clear()
        self._shown.clear()
        self._events.clear()
        self._outbox.clear()
        self._inbox.clear()

    def _out(self, record: SessionRecord) -> SessionRecord:
        copy = _copy(record)
        copy.shown_through = self._shown.get(record.session_id)
        return copy

    async def get_session(self, session_id: str) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        return self._out(record) if record else None

    async def session_view(self, session_id: str) -> SessionRecord | None:
        return await self.get_session(session_id)

    async def save_session(self, record: SessionRecord) -> None:
        self._sessions[record.session_id] = _copy(record)
        if record.state == SessionState.HANDING_OFF:  # a new handoff reads SunCo's latest page afresh
            self._shown.pop(record.session_id, None)

    async def find_by_conversation(self, conversation_id: str) -> SessionRecord | None:
        matches = [r for r in self._sessions.values() if r.conversation_id == conversation_id]
        if not matches:
            return None
        return self._out(max(matches, key=_preference))

    async def sessions_in(self, states: set[SessionState]) -> list[SessionRecord]:
        return [self._out(r) for r in self._sessions.values() if r.state in states]

    async def mark_shown(self, session_id: str, message_id: str, at: datetime) -> None:
        await self.mark_event("message:" + message_id, at)
        if session_id in self._sessions:
            self._shown[session_id] = message_id

    async def event_seen(self, event_id: str) -> bool:
        return event_id in self._events

    async def mark_event(self, event_id: str, at: datetime) -> bool:
        if event_id in self._events:
            return False
        self._events[event_id] = at
        return True

    async def prune_events(self, before: datetime) -> int:
        doomed = [event_id for event_id, at in self._events.items() if at < before]
        for event_id in doomed:
            del self._events[event_id]
        return len(doomed)

    async def count_events(self) -> int:
        return len(self._events)

    async def inbox_add(self, item: InboxItem) -> InboxItem | None:
        if not await self.mark_event(item.event_id, item.accepted_at):
            return None
        stored = _copy(item.model_copy(update={"id": self._next_id}))
        self._next_id += 1
        self._inbox[stored.id] = stored
        return _copy(stored)

    async def inbox_items(self) -> list[InboxItem]:
        return [_copy(self._inbox[i]) for i in sorted(self._inbox)]

    async def inbox_remove(self, item_id: int) -> None:
        self._inbox.pop(item_id, None)

    async def outbox_add(self, item: OutboxItem) -> OutboxItem:
        stored = item.model_copy(update={"id": self._next_id})
        self._next_id += 1
        self._outbox[stored.id] = stored
        return stored.model_copy()

    async def outbox_items(self, session_id: str | None = None) -> list[OutboxItem]:
        items = sorted(self._outbox.values(), key=lambda i: i.id)
        return [i.model_copy() for i in items if session_id is None or i.session_id == session_id]

    async def outbox_get(self, item_id: int) -> OutboxItem | None:
        item = self._outbox.get(item_id)
        return item.model_copy() if item else None

    async def outbox_update(self, item: OutboxItem) -> None:
        if item.id in self._outbox:
            self._outbox[item.id] = item.model_copy()

    async def outbox_mark(self, item_id: int, flag: OutboxFlag) -> None:
        if item_id in self._outbox:
            self._outbox[item_id] = self._outbox[item_id].model_copy(update={flag: True})

    async def outbox_remove(self, item_id: int) -> None:
        self._outbox.pop(item_id, None)

    async def outbox_sent(self, item_id: int) -> None:
        self._outbox.pop(item_id, None)

    async def outbox_clear(self, session_id: str) -> int:
        doomed = [i for i, item in self._outbox.items() if item.session_id == session_id]
        for item_id in doomed:
            del self._outbox[item_id]
        return len(doomed)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, conversation_id TEXT, state TEXT NOT NULL, data TEXT NOT NULL, shown_through TEXT);
CREATE INDEX IF NOT EXISTS sessions_conversation ON sessions (conversation_id);
CREATE TABLE IF NOT EXISTS processed_events (event_id TEXT PRIMARY KEY, processed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_session ON outbox (session_id, id);
CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
"""
# Written by save_session: everything but `shown_through`, which has a column of its own.
_NOT_IN_DATA = {"shown_through"}


def _session(data: str, shown_through: str | None) -> SessionRecord:
    record = SessionRecord.model_validate_json(data)
    record.shown_through = shown_through
    return record


class SQLiteStore:
    """SQLite in WAL mode with `synchronous=NORMAL`, one transaction per call, on the event loop.

    A commit then only appends to the WAL in the OS page cache (tens of microseconds): handing
    each call to a worker thread cost more in thread hops and GIL hand-offs than the work itself,
    and it was most of the relay's time under load. What does reach the disk, the checkpoint's
    fsync, runs on a thread of its own (`Checkpointer`), never on the loop. Durability: a commit
    survives the relay process crashing (what the inbox and outbox are for); a power loss or OS
    crash may undo the last commits, never corrupt the file. A call's statements run without
    awaiting (transactions never interleave, no lock is needed); then it yields to the loop if
    the loop has not gone round for `YIELD_AFTER_SECONDS` (see `_pause`).
    The lazy writes (see the module docstring) wait in `_later_*` and run in a transaction of
    their own once the loop is idle (`_later`), or at the start of a transaction before that.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None
        # Lazy removals not yet written: their rows are left out of every read meanwhile.
        self._later_inbox: set[int] = set()
        self._later_outbox: set[int] = set()
        # Lazy `mark_shown`s not yet written: session id -> message id, and the marks with their times.
        self._later_shown: dict[str, str] = {}
        self._later_marks: dict[str, str] = {}
        # `session_view`'s parsed records, least recently read first (SESSION_VIEWS at most). Every
        # write of a session goes through this store (one process owns the file), which keeps them current.
        self._views: OrderedDict[str, SessionRecord] = OrderedDict()
        # Busy turns the queued `_write_lazy` has waited, and its loop (None: none queued).
        self._lazy_turns = 0
        self._lazy_loop: asyncio.AbstractEventLoop | None = None
        # When the loop last went round, as far as `_pause` knows: the perf_counter time of the
        # first call since, and the loop whose marker callback will clear it (None: gone round).
        self._run_since: float | None = None
        self._run_loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        if self._conn is not None:
            return
        private_file(self.path)  # names, emails and messages: this user only
        conn = sqlite3.connect(str(self.path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it, off the loop
        conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if "shown_through" not in columns:  # a file from before the column
            conn.execute("ALTER TABLE sessions ADD COLUMN shown_through TEXT")
        conn.commit()
        self._conn = conn
        self._checkpointer = Checkpointer(self.path, "relay-sqlite-checkpoint")

    async def close(self) -> None:
        conn, checkpointer = self._conn, self._checkpointer
        if conn is None:
            return
        if self._lazy_pending:
            with conn:
                self._flush(conn)
        self._conn = self._checkpointer = None
        self._views.clear()  # whatever opens the file next may have changed it
        if checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, checkpointer.stop)
        conn.close()

    async def _pause(self) -> None:
        """The end of every call: a yield to the loop only once it has not gone round for
        `YIELD_AFTER_SECONDS`. A run of calls with no await between them (a loop over sessions, a
        recovery) still lets other work in every half millisecond or so, while a message's few
        calls do not each cost a turn of the loop (an epoll call and its bookkeeping: ~15-25 us
        here, of a message's ~1 ms). Whether it has gone round: a marker callback, queued at the
        first call since it last did, has run. (A call that does not yield may still be followed
        by the caller's own awaits; the memory store never yields.)"""
        loop = asyncio.get_running_loop()
        if self._run_since is None or self._run_loop is not loop:
            self._run_since, self._run_loop = time.perf_counter(), loop
            loop.call_soon(self._went_round, loop)
            return
        if time.perf_counter() - self._run_since >= YIELD_AFTER_SECONDS:
            await asyncio.sleep(0)  # the marker runs first, so the next call starts a new run

    def _went_round(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._run_loop is loop:
            self._run_since = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("SQLiteStore is not open")
        return self._conn

    def _flush(self, conn: sqlite3.Connection) -> None:
        """The lazy removals, inside the caller's transaction."""
        for table, ids in (("inbox", self._later_inbox), ("outbox", self._later_outbox)):
            if ids:  # fixed table names, placeholders only
                conn.execute(f"DELETE FROM {table} WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
        if self._later_marks:
            conn.executemany(
                "INSERT OR IGNORE INTO processed_events (event_id, processed_at) VALUES (?, ?)",
                self._later_marks.items(),
            )
            conn.executemany(
                "UPDATE sessions SET shown_through = ? WHERE session_id = ?",
                [(message_id, session_id) for session_id, message_id in self._later_shown.items()],
            )

    def _transaction(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """`job` and the lazy writes as one transaction: committed when it returns, rolled back
        (the lazy writes kept for the next) if it raises."""
        conn = self._db()
        with conn:
            self._flush(conn)
            result = job(conn)
        self._later_inbox.clear()
        self._later_outbox.clear()
        self._later_shown.clear()
        self._later_marks.clear()
        if self._checkpointer is not None:
            self._checkpointer.committed()
        return result

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run `job` as one transaction (see `_transaction`)."""
        result = self._transaction(job)
        await self._pause()  # loops over calls stay fair
        return result

    @property
    def _lazy_pending(self) -> bool:
        """Lazy writes wait to be written (`_later_shown` goes with `_later_marks`)."""
        return bool(self._later_inbox or self._later_outbox or self._later_marks)

    def _later(self) -> None:
        """A lazy write was noted: have the loop write it (with whatever else is lazy by then) once
        it has nothing else ready to run, or after `LAZY_WRITE_TURNS` busy turns."""
        loop = asyncio.get_running_loop()
        if self._lazy_loop is not loop:  # none queued (or queued in a loop that has gone since)
            self._lazy_loop, self._lazy_turns = loop, 0
            loop.call_soon(self._write_lazy, loop)

    def _write_lazy(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._lazy_loop is not loop:
            return  # superseded by one queued in another loop
        if self._conn is not None and self._lazy_pending:
            if loop_busy(loop) and self._lazy_turns < LAZY_WRITE_TURNS:
                self._lazy_turns += 1  # what is ready (the rest of a message's path) goes first
                loop.call_soon(self._write_lazy, loop)
                return
            try:
                self._transaction(lambda conn: None)
            except sqlite3.Error as exc:  # kept: the next transaction tries them again
                log.warning(kv("relay.store.lazy_write_failed", error=str(exc)))
        self._lazy_loop = None  # else closed, or a transaction since has written them

    async def _execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        return await self._write(lambda conn: conn.execute(sql, params))

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        rows = self._db().execute(sql, params).fetchall()
        await self._pause()
        return rows

    async def reset(self) -> None:
        def clear(conn: sqlite3.Connection) -> None:
            for table in ("sessions", "processed_events", "outbox", "inbox"):
                conn.execute(f"DELETE FROM {table}")  # fixed table names, not input

        self._views.clear()
        await self._write(clear)

    async def _sessions(self, sql: str, params: tuple[object, ...]) -> list[tuple[str, str, str | None]]:
        """Rows of (session_id, data, shown_through) with the lazy `mark_shown`s applied, read
        before the yield (a write meanwhile writes them, and clears what they are read from)."""
        later = self._later_shown
        rows = [
            (sid, data, later.get(sid, through) if later else through)
            for sid, data, through in self._db().execute(sql, params)
        ]
        await self._pause()
        return rows

    def _read_session(self, session_id: str) -> SessionRecord | None:
        """The stored session with a lazy `mark_shown` applied, read without yielding."""
        row = (
            self._db()
            .execute("SELECT data, shown_through FROM sessions WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return None if row is None else _session(row[0], self._later_shown.get(session_id, row[1]))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        record = self._read_session(session_id)
        await self._pause()
        return record

    async def session_view(self, session_id: str) -> SessionRecord | None:
        views = self._views
        record = views.get(session_id)
        if record is not None:
            views.move_to_end(session_id)
        else:
            record = self._read_session(session_id)
            if record is not None:
                # Kept before the yield below: a save meanwhile replaces it, never the other way round.
                views[session_id] = record
                if len(views) > SESSION_VIEWS:
                    views.popitem(last=False)
        await self._pause()
        return record

    async def save_session(self, record: SessionRecord) -> None:
        self._views.pop(record.session_id, None)  # read afresh (a new handoff also clears `shown_through`)
        # An upsert keeps the row (and its rowid) in place: INSERT OR REPLACE deletes and re-inserts
        # it at the end of the table, where a listing still stepping through could meet it again.
        await self._execute(
            "INSERT INTO sessions (session_id, conversation_id, state, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(session_id) DO UPDATE SET conversation_id = excluded.conversation_id, "
            "state = excluded.state, data = excluded.data, "
            # A new handoff reads SunCo's latest page afresh (nothing is shown while handing off).
            "shown_through = CASE WHEN excluded.state = 'handing_off' THEN NULL ELSE shown_through END",
            (
                record.session_id,
                record.conversation_id,
                record.state.value,
                record.model_dump_json(exclude=_NOT_IN_DATA),
            ),
        )

    async def find_by_conversation(self, conversation_id: str) -> SessionRecord | None:
        rows = await self._sessions(
            "SELECT session_id, data, shown_through FROM sessions WHERE conversation_id = ?", (conversation_id,)
        )
        records = [_session(*row[1:]) for row in rows]
        return max(records, key=_preference) if records else None

    async def sessions_in(self, states: set[SessionState]) -> list[SessionRecord]:
        marks = ",".join("?" for _ in states)
        sql = f"SELECT session_id, data, shown_through FROM sessions WHERE state IN ({marks})"  # placeholders only
        # Read in one call, and keyed by session id, so a session can never come back twice.
        rows = await self._sessions(sql, tuple(s.value for s in states))
        unique = {str(row[0]): (row[1], row[2]) for row in rows}
        return [_session(*row) for row in unique.values()]

    async def event_seen(self, event_id: str) -> bool:
        if event_id in self._later_marks:
            await self._pause()
            return True
        return bool(await self._rows("SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,)))

    async def mark_event(self, event_id: str, at: datetime) -> bool:
        # (A lazy mark is written at the start of this transaction: the insert then finds it.)
        cursor = await self._execute(
            "INSERT OR IGNORE INTO processed_events (event_id, processed_at) VALUES (?, ?)", (event_id, at.isoformat())
        )
        return cursor.rowcount == 1

    async def mark_shown(self, session_id: str, message_id: str, at: datetime) -> None:
        # Lazy (see the module docstring): the chat side drops a message it is given twice.
        self._db()
        self._later_marks["message:" + message_id] = at.isoformat()
        self._later_shown[session_id] = message_id
        view = self._views.get(session_id)
        if view is not None:  # replaced, not changed: whoever holds the old one keeps what it read
            self._views[session_id] = view.model_copy(update={"shown_through": message_id})
        self._later()
        await self._pause()

    async def prune_events(self, before: datetime) -> int:
        cursor = await self._execute("DELETE FROM processed_events WHERE processed_at < ?", (before.isoformat(),))
        return cursor.rowcount

    async def count_events(self) -> int:
        if self._later_marks:
            await self._write(lambda conn: None)  # the lazy marks count too
        rows = await self._rows("SELECT COUNT(*) FROM processed_events")
        return int(rows[0][0])

    async def inbox_add(self, item: InboxItem) -> InboxItem | None:
        data = item.model_dump_json()

        # Both rows in one transaction: an event id is never marked seen without its event queued.
        def add(conn: sqlite3.Connection) -> int | None:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO processed_events (event_id, processed_at) VALUES (?, ?)",
                (item.event_id, item.accepted_at.isoformat()),
            )
            if cursor.rowcount != 1:
                return None
            return conn.execute("INSERT INTO inbox (data) VALUES (?)", (data,)).lastrowid

        row_id = await self._write(add)
        return None if row_id is None else item.model_copy(update={"id": row_id})

    async def inbox_items(self) -> list[InboxItem]:
        # Rows read and the lazy removals left out at once: a write during the yield below deletes them.
        rows = [
            row
            for row in self._db().execute("SELECT id, data FROM inbox ORDER BY id")
            if row[0] not in self._later_inbox
        ]
        await self._pause()
        return [InboxItem.model_validate_json(row[1]).model_copy(update={"id": row[0]}) for row in rows]

    async def inbox_remove(self, item_id: int) -> None:
        self._db()
        self._later_inbox.add(item_id)
        self._later()
        await self._pause()

    async def outbox_add(self, item: OutboxItem) -> OutboxItem:
        cursor = await self._execute(
            "INSERT INTO outbox (session_id, data) VALUES (?, ?)", (item.session_id, item.model_dump_json())
        )
        assert cursor.lastrowid is not None
        return item.model_copy(update={"id": cursor.lastrowid})

    async def outbox_items(self, session_id: str | None = None) -> list[OutboxItem]:
        # The row id is the item's id (the JSON's own `id` is whatever it was when written).
        query, params = "SELECT id, data FROM outbox ORDER BY id", cast(tuple[str, ...], ())
        if session_id is not None:
            query, params = "SELECT id, data FROM outbox WHERE session_id = ? ORDER BY id", (session_id,)
        # Rows read and the lazy removals left out at once: a write during the yield below deletes them.
        rows = [row for row in self._db().execute(query, params) if row[0] not in self._later_outbox]
        await self._pause()
        return [OutboxItem.model_validate_json(row[1]).model_copy(update={"id": row[0]}) for row in rows]

    async def outbox_get(self, item_id: int) -> OutboxItem | None:
        gone = item_id in self._later_outbox  # before the read yields (a write meanwhile deletes the row)
        rows = await self._rows("SELECT data FROM outbox WHERE id = ?", (item_id,))
        if not rows or gone:
            return None
        return OutboxItem.model_validate_json(rows[0][0]).model_copy(update={"id": item_id})

    async def outbox_update(self, item: OutboxItem) -> None:
        await self._execute("UPDATE outbox SET data = ? WHERE id = ?", (item.model_dump_json(), item.id))

    async def outbox_mark(self, item_id: int, flag: OutboxFlag) -> None:
        # In place, so it cannot undo a concurrent change to another field.
        await self._execute(
            "UPDATE outbox SET data = json_set(data, ?, json('true')) WHERE id = ?", (f"$.{flag}", item_id)
        )

    async def outbox_remove(self, item_id: int) -> None:
        await self._execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    async def outbox_sent(self, item_id: int) -> None:
        self._db()
        self._later_outbox.add(item_id)
        self._later()
        await self._pause()

    async def outbox_clear(self, session_id: str) -> int:
        cursor = await self._execute("DELETE FROM outbox WHERE session_id = ?", (session_id,))
        return cursor.rowcount


def open_store(settings: Settings) -> Store:
    """The store `settings.relay_store` names (not yet opened: the relay's startup opens it)."""
    if settings.relay_store == "memory":
        return MemoryStore()
    return SQLiteStore(settings.sim_state_dir / DB_FILE)
