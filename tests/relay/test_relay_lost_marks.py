"""An agent message is marked shown lazily (on the loop's next turn, or with the relay store's next
write): a `kill -9` before that write makes the new relay deliver it again, and the user still sees
it once."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from simulator.relay.store import SQLiteStore
from simulator.scenarios import crash
from simulator.scenarios.actors import EndUser, short_type
from simulator.scenarios.harness import Harness


def agent_texts(user: EndUser) -> list[Any]:
    return [e["payload"].get("text") for e in user.seen if short_type(e["type"]) == "LIVE_AGENT_MESSAGE"]


async def test_a_shown_message_whose_mark_a_crash_lost_is_seen_once(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="simulator.widget")
    async with Harness({"relay_store": "sqlite", "sim_ephemeral": False, "sim_state_dir": tmp_path}) as sim:
        ana = await sim.user("ana")
        await ana.say("talk to a human")
        assert await sim.eventually(
            lambda: any(short_type(e["type"]) == "HANDOFF_ACCEPTED" for e in ana.seen), within=5
        )
        ticket = await sim.ticket_for(ana, within=5)
        sam = sim.agent("Sam")
        await sam.accept(ticket["id"])
        # The kill lands before the loop's next turn would have written the mark.
        assert isinstance(sim.sim.relay.store, SQLiteStore)
        monkeypatch.setattr(sim.sim.relay.store, "_later", lambda: None)
        await sam.say(ticket["id"], "Hello Ana")
        assert await sim.eventually(lambda: agent_texts(ana) == ["Hello Ana"], within=5)
        assert await sim.eventually(lambda: not sim.sim.relay.inbound._workers, within=5)

        # kill -9: the relay's lazy writes are never written (its store is dropped, not closed).
        dead = sim.sim.relay
        crash._cut_off(dead)
        dead_store = await sim.sim.replace_crashed_relay()
        await crash._bury(dead)
        assert isinstance(dead_store, SQLiteStore) and dead_store._later_marks  # the mark was still lazy
        dead_store._later_marks.clear()
        dead_store._later_shown.clear()
        dead_store._later_inbox.clear()
        dead_store._later_outbox.clear()
        await dead_store.close()
        relay = sim.sim.relay
        await relay.startup()
        record = await relay.store.get_session(ana.session_id)
        assert record is not None and record.shown_through is None  # the restart reads SunCo's page afresh

        await sam.say(ticket["id"], "Still there?")
        assert await sim.eventually(lambda: agent_texts(ana) == ["Hello Ana", "Still there?"], within=5)
        await sim.advance(1)
        assert agent_texts(ana) == ["Hello Ana", "Still there?"]
        assert "widget.duplicate_dropped" in caplog.text  # the relay did deliver "Hello Ana" again
