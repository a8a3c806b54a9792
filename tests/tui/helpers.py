"""Driving the app in tests: an in-process simulator on a virtual clock, seeded names, fixed ids."""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Static

from simulator.trace import Trace
from simulator.tui.app import HandoffApp
from simulator.tui.backend import InProcessBackend

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
REAL_TIMEOUT = 10.0


def make_app(*, first_user: bool = True, recordings: Path | None = None) -> HandoffApp:
    """The app on an in-process simulator (virtual clock, memory store), faker seeded."""
    return HandoffApp(
        InProcessBackend(),
        seed=SEED,
        first_user=first_user,
        scenario_folders=(ROOT / "scenarios",),
        recordings=recordings or Path("recordings"),
    )


def fix_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids that would be random (sessions, SunCo records) counted instead, so snapshots repeat."""
    counter = itertools.count(1)
    hexes = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    monkeypatch.setattr(secrets, "token_hex", lambda n=16: f"{next(hexes):0{2 * n}x}")
    record = Trace.record

    def fixed_latency(self: Trace, kind: Any, summary: str, **fields: Any) -> Any:
        if fields.get("ms") is not None:
            fields["ms"] = 1.0  # real milliseconds differ run to run
        return record(self, kind, summary, **fields)

    monkeypatch.setattr(Trace, "record", fixed_latency)


async def until(pilot: Pilot[None], check: Callable[[], object], what: str = "the condition") -> None:
    """Let the app run until `check()` is true (real time is only a safety net, never asserted on)."""
    loops = int(REAL_TIMEOUT / 0.02)
    for _ in range(loops):
        if check():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def text_of(widget: Widget) -> str:
    """Everything a person reads in a widget and its children (Statics, tables, tabs)."""
    statics = [widget, *widget.query(Static)] if isinstance(widget, Static) else list(widget.query(Static))
    parts = [str(static.render()) for static in statics]
    tables = [widget, *widget.query(DataTable)] if isinstance(widget, DataTable) else list(widget.query(DataTable))
    for table in tables:
        for row in range(table.row_count):
            parts.append(" ".join(str(cell) for cell in table.get_row_at(row)))
    return "\n".join(parts)


async def shows(pilot: Pilot[Any], selector: str, *texts: str) -> str:
    """Wait until the widget at `selector` shows every one of `texts`; returns what it shows."""
    app = pilot.app
    await until(pilot, lambda: all(t in text_of(app.query_one(selector)) for t in texts), f"{selector} to show {texts}")
    return text_of(app.query_one(selector))
