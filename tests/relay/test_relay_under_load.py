"""The relay's background checks under load: they wait while its calls to SunCo queue, never drop."""

from __future__ import annotations

from .conftest import Harness, quiet


def _shown(h: Harness) -> list[str]:
    return [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")]


async def test_a_lost_agent_message_is_caught_up_once_the_relays_calls_to_sunco_flow_again(h: Harness) -> None:
    h.sunco.answers_conversation_reads = True
    conversation = await h.handoff()
    h.sunco.agent_posts(conversation, "are you still there?")  # its webhook never comes
    slots = h.relay.core.sunco._slots
    held = 0
    while not h.relay.core.sunco.saturated:  # every slot busy, as at a thousand busy conversations
        await slots.acquire()
        held += 1
    await h.advance(3 * h.settings.relay_reconcile_seconds)
    for _ in range(held):
        slots.release()
    await quiet()
    # The checks due meanwhile were put off, not queued behind the live calls (which would have run now).
    assert _shown(h) == []
    assert not [r for r in h.sunco.requests if r.method == "GET" and r.path == f"/conversations/{conversation}"]
    await h.advance_until(lambda: bool(_shown(h)))
    await h.advance(3 * h.settings.relay_reconcile_seconds)
    assert _shown(h) == ["are you still there?"]
