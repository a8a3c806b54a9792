"""Quiet-session checks share one budget (RELAY_RECONCILE_PER_SECOND): at a thousand live
conversations they must not cost more than the conversations, yet each still comes."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import Settings

from .conftest import Harness, make_settings

SESSIONS = [f"s{n}" for n in range(1, 7)]


@pytest.fixture
def relay_settings(tmp_path: Path, store_kind: str) -> Settings:
    return make_settings(tmp_path, relay_store=store_kind, relay_reconcile_per_second=1.0)


def _checks(h: Harness, conversations: dict[str, str]) -> list[tuple[float, str]]:
    wanted = {f"/conversations/{c}": s for s, c in conversations.items()}
    return [(r.at, wanted[r.path]) for r in h.sunco.requests if r.method == "GET" and r.path in wanted]


async def test_checks_that_fall_due_together_take_turns_and_each_comes(h: Harness) -> None:
    h.sunco.answers_conversation_reads = True
    conversations = {sid: await h.handoff(sid) for sid in SESSIONS}
    lost = h.sunco.agent_posts(conversations["s6"], "still there?")  # its webhook never comes
    await h.advance(h.settings.relay_reconcile_seconds + len(SESSIONS))
    checks = _checks(h, conversations)
    assert sorted(s for _, s in checks) == SESSIONS  # every session checked once
    times = sorted(at for at, _ in checks)
    assert all(b - a >= 1.0 - 1e-6 for a, b in zip(times, times[1:], strict=False)), times  # one a second at most
    shown = [p["text"] for p in h.sink.payloads("s6", "EVENT_TYPE_LIVE_AGENT_MESSAGE")]
    assert shown == ["still there?"], lost


async def test_a_session_whose_user_speaks_while_it_waits_for_its_turn_starts_over(h: Harness) -> None:
    h.sunco.answers_conversation_reads = True
    conversations = {sid: await h.handoff(sid) for sid in SESSIONS}
    await h.advance(h.settings.relay_reconcile_seconds + 0.5)  # s1's check ran; the others wait their turn
    for sid in SESSIONS[1:]:
        await h.relay.user_message(sid, "hello?", f"m-{sid}")  # each starts its quiet clock over
    await h.advance(2.0)
    # They started their quiet clocks over instead of checking when their turns came.
    assert [s for _, s in _checks(h, conversations)] == ["s1"]
