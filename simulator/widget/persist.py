"""The widget's state in the state file: sessions with their event history, the token key, the SMS outbox.

Written through: a session event is in the file before any listener sees it, so a user who
reconnects after a crash with its cursor gets exactly what it missed, nothing twice.
Ended sessions leave memory; their history stays in the file, the newest
`SIM_ENDED_RETENTION` of them. Without a state file (tests, `--ephemeral`) nothing is written.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from simulator.durable import StateDB
from simulator.relay.chat import EndUserProfile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS widget_sessions (
    id TEXT PRIMARY KEY, ended INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS widget_sessions_ended ON widget_sessions (ended);
CREATE TABLE IF NOT EXISTS widget_events (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (session_id, seq));
CREATE TABLE IF NOT EXISTS widget_sms (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS widget_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SavedTurn(BaseModel):
    speaker: Literal["user", "bot"]
    text: str
    timestamp: datetime


class SavedConversation(BaseModel):
    """The bot's `conv` (state and memory as JSON; values that are not JSON are kept as text)."""

    id: str
    project_id: str
    channel_type: str
    caller_number: str | None
    env: str = "sandbox"
    state: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    history: list[SavedTurn] = []


class SavedSession(BaseModel):
    """Everything about a session but its events (those are rows of their own)."""

    id: str
    channel: Literal["webchat", "sms"]
    user: EndUserProfile
    created_at: datetime
    owner: str | None = None
    sequence: int = 0  # written 0 now (the event rows number themselves); older files have it
    joined: bool = False
    handing_off: bool = False
    ended: bool = False
    end_reason: str | None = None
    conv: SavedConversation
    pending: list[tuple[str, Any]] = []  # user turns accepted but not yet handled, in order
    service_number: str | None = None  # SMS: the number the user texted


def as_json(value: dict[str, Any]) -> dict[str, Any]:
    """An agent's free-form dict as JSON (anything else becomes its repr)."""
    if not value:
        return {}  # the usual case (no state or memory kept), at every save of the session
    parsed: dict[str, Any] = json.loads(json.dumps(value, default=repr))
    return parsed


class WidgetStore:
    """The widget's tables in the state file."""

    def __init__(self, db: StateDB, retention: int) -> None:
        self.db = db
        self.retention = retention
        if db.persistent:
            db.db.executescript(_SCHEMA)

    @property
    def persistent(self) -> bool:
        return self.db.persistent

    def signing_key(self) -> bytes:
        """The access-token signing key: kept, so tokens issued before a restart still work."""
        if not self.persistent:
            return secrets.token_bytes(32)
        row = self.db.db.execute("SELECT value FROM widget_meta WHERE name = 'signing_key'").fetchone()
        if row:
            return bytes.fromhex(row[0])
        key = secrets.token_bytes(32)
        self.db.write([("INSERT INTO widget_meta (name, value) VALUES ('signing_key', ?)", (key.hex(),))])
        return key

    def save_row(self, session_id: str, done: bool, row: str, event: dict[str, Any] | None = None) -> None:
        """The session, as its `SavedSession`'s JSON, and the event it just numbered, in one transaction.
        `done`: ended with nothing left to do (only then is it not resumed after a restart)."""
        statements = self._event(session_id, event)
        statements.append(
            (
                "INSERT INTO widget_sessions (id, ended, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET ended = excluded.ended, data = excluded.data",
                (session_id, int(done), row),
            )
        )
        self.db.write(statements)

    def save_event(self, session_id: str, event: dict[str, Any] | None) -> None:
        """Only the event a session just numbered (its row is as written before)."""
        self.db.write(self._event(session_id, event))

    @staticmethod
    def _event(session_id: str, event: dict[str, Any] | None) -> list[tuple[str, tuple[Any, ...]]]:
        if event is None:
            return []
        return [
            (
                "INSERT OR REPLACE INTO widget_events (session_id, seq, data) VALUES (?, ?, ?)",
                (session_id, event["sequence"], json.dumps(event)),
            )
        ]

    def live(self) -> list[tuple[SavedSession, list[dict[str, Any]]]]:
        """Sessions that had not ended, oldest first, each with its events."""
        if not self.persistent:
            return []
        rows = self.db.db.execute("SELECT data FROM widget_sessions WHERE ended = 0 ORDER BY rowid").fetchall()
        return [(saved, self.events(saved.id)) for saved in (SavedSession.model_validate_json(r[0]) for r in rows)]

    def load(self, session_id: str) -> tuple[SavedSession, list[dict[str, Any]]] | None:
        """One session (ended ones included) with its events."""
        if not self.persistent:
            return None
        row = self.db.db.execute("SELECT data FROM widget_sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            return None
        return SavedSession.model_validate_json(row[0]), self.events(session_id)

    def events(self, session_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The session's events with a sequence above `after`, in order."""
        rows = self.db.db.execute(
            "SELECT data FROM widget_events WHERE session_id = ? AND seq > ? ORDER BY seq", (session_id, after)
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def prune(self) -> None:
        """Forget the oldest ended sessions beyond the retention."""
        if not self.persistent:
            return
        doomed = self.db.db.execute(
            "SELECT id FROM widget_sessions WHERE ended = 1 ORDER BY rowid DESC LIMIT -1 OFFSET ?", (self.retention,)
        ).fetchall()
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for (session_id,) in doomed:
            statements.append(("DELETE FROM widget_events WHERE session_id = ?", (session_id,)))
            statements.append(("DELETE FROM widget_sessions WHERE id = ?", (session_id,)))
        self.db.write(statements)

    def add_sms(self, message: dict[str, Any]) -> None:
        self.db.write([("INSERT INTO widget_sms (data) VALUES (?)", (json.dumps(message),))])

    def sms(self) -> list[dict[str, Any]]:
        if not self.persistent:
            return []
        rows = self.db.db.execute("SELECT data FROM widget_sms ORDER BY id").fetchall()
        return [json.loads(row[0]) for row in rows]

    def clear(self) -> None:
        """Reset: forget sessions, events and texts (the signing key stays)."""
        self.db.write(
            [
                ("DELETE FROM widget_events", ()),
                ("DELETE FROM widget_sessions", ()),
                ("DELETE FROM widget_sms", ()),
            ]
        )
