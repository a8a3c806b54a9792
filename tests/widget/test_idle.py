"""Idle sessions end after `widget_session_idle_seconds` without activity, all on one timer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

from simulator.clock import VirtualClock
from simulator.widget.idle import IdleWatch
from simulator.widget.sessions import Session


@dataclass
class FakeSession:
    id: str
    last_activity: float
    ended: bool = False


async def test_each_session_ends_idle_seconds_after_its_own_last_activity() -> None:
    clock = VirtualClock()
    ended: list[str] = []
    watch = IdleWatch(clock, lambda: 100.0, lambda s: ended.append(s.id))
    a, b, c = (FakeSession(name, clock.monotonic()) for name in "abc")
    for session in (a, b, c):
        watch.watch(cast(Session, session))
    await asyncio.sleep(0)
    assert clock.sleepers == 1  # one sleeper for every session

    await clock.advance(60)
    b.last_activity = clock.monotonic()  # b is active again: its deadline moves to 160
    watch.forget(cast(Session, c))  # c ended some other way
    await clock.advance(41)
    assert ended == ["a"]
    await clock.advance(58)
    assert ended == ["a"]
    await clock.advance(2)
    assert ended == ["a", "b"]
    assert clock.sleepers == 0 and not watch.watching("b")


async def test_an_earlier_deadline_wakes_the_watch_and_stop_leaves_no_sleeper() -> None:
    clock = VirtualClock()
    ended: list[str] = []
    idle = [100.0]
    watch = IdleWatch(clock, lambda: idle[0], lambda s: ended.append(s.id))
    watch.watch(cast(Session, FakeSession("late", clock.monotonic())))
    await clock.advance(1)
    idle[0] = 10.0  # the setting changed: a new session's deadline comes first
    watch.watch(cast(Session, FakeSession("soon", clock.monotonic())))
    await clock.advance(11)
    assert ended == ["soon"]
    await watch.stop()
    assert clock.sleepers == 0
    await clock.advance(200)
    assert ended == ["soon"]
