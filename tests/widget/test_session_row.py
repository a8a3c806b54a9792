"""The session row the state file keeps is encoded straight from the session (no models built per
save): it must be the very bytes `SavedSession` would write, so files read and compare as before."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from simulator.clock import VirtualClock
from simulator.relay.chat import EndUserProfile
from simulator.widget.agent import Conversation, Turn
from simulator.widget.persist import SavedSession
from simulator.widget.sessions import Session, restored_session, saved_session, session_row


def session(channel: str = "webchat") -> Session:
    clock = VirtualClock()
    sms = channel == "sms"
    conv = Conversation(
        id="s-1",
        project_id="proj",
        channel_type="sms" if sms else "webchat.polyai",
        caller_number="+15550100001" if sms else "ana@example.com",
    )
    return Session(
        id="s-1",
        channel="sms" if sms else "webchat",
        user=EndUserProfile(external_id="polyai-s-1", name="Ana López", email=None if sms else "ana@example.com"),
        conv=conv,
        clock=clock,
        created_at=clock.now(),
        last_activity=clock.monotonic(),
    )


def busy(channel: str) -> Session:
    s = session(channel)
    s.owner = None if channel == "sms" else "jti-1"
    s.service_number = "+15550009999" if channel == "sms" else None
    s.joined, s.handing_off = True, True
    s.conv.history += [
        Turn("user", 'hi ✓ "quoted" \\ back', datetime(2026, 1, 1, 9, 0, tzinfo=UTC)),
        Turn("bot", "Hello!\nHow can I help?", datetime(2026, 1, 1, 9, 0, 1, 500)),  # naive, as an agent may give
    ]
    s.conv.state.update({"name": "Ana", "n": 3, "when": datetime(2026, 1, 1), "nested": {"k": [1, 2.5, None]}})
    s.conv.memory.update({"amount": Decimal("1.10"), "tags": {"a"}})  # not JSON: kept as their repr
    s.pending += [
        ("text", ("with media", "m-1", [{"url": "https://x.test/a.png", "content_type": "image/png"}])),
        ("handoff", {"utterance": "A human", "handoff": {"text_chat": {"group_id": 1}}}),
        ("typing", True),
        ("end", None),
    ]
    return s


@pytest.mark.parametrize("channel", ["webchat", "sms"])
def test_the_row_is_what_saved_session_writes(channel: str) -> None:
    for s in (session(channel), busy(channel)):
        assert session_row(s) == saved_session(s).model_dump_json().encode()
        s.ended, s.end_reason = True, "USER_END"
        assert session_row(s) == saved_session(s).model_dump_json().encode()


def test_a_row_reads_back_as_the_session() -> None:
    s = busy("webchat")
    back = restored_session(SavedSession.model_validate_json(session_row(s)), [], s.clock)
    assert session_row(back) == session_row(s)
    assert back.pending[0] == s.pending[0] and back.conv.history == s.conv.history
