"""Finished conversations leave memory on every side, and what real Zendesk and SunCo would still
answer about them (a solved ticket, a conversation's messages, the agent's ticket list) is still
answered: from the state file, or (memory only) for the newest `SIM_ENDED_RETENTION` of them."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.scenarios.harness import Harness

BATCH = 8
RETAINED = 3  # memory only: finished conversations (and ended widget sessions) kept


async def _finish_one(sim: Harness, index: int) -> dict[str, Any]:
    """One end user hands off, the agent replies and solves the ticket; the user's session ends."""
    name = f"user-{index}"
    user = await sim.user(name, profile={"name": f"User {index}", "email": f"user{index}@example.test"})
    await user.say("talk to a human")
    ticket = await sim.ticket_for(user, within=10)
    agent = sim.agent("Sarah")
    await agent.accept(ticket["id"])
    await agent.say(ticket["id"], f"Hello {index}")
    await agent.set_status(ticket["id"], "solved")
    assert await sim.eventually(
        lambda: bool(user.seen) and user.seen[-1]["type"] == "EVENT_TYPE_SESSION_END", within=10
    )
    await user.close()
    del sim.users[name]  # the test's own client side keeps nothing either
    return {"id": ticket["id"], "conversation_id": ticket["conversation_id"]}


async def _held_after_batch(sim: Harness, start: int, size: int = BATCH) -> tuple[int, list[dict[str, Any]]]:
    tickets = [await _finish_one(sim, start + i) for i in range(size)]
    await sim.advance(700)  # timers of finished conversations (join timeout, quiet checks) run out
    for _ in range(3):  # the commits after the last request let what finished leave memory
        sim.sim.state_db.commit()
    gc.collect()
    return tracemalloc.get_traced_memory()[0], tickets


def _bound_delivery_log(sim: Harness, limit: int = 200) -> None:
    """The delivery log (Admin Center's) is a bounded list: bounded here below what the warm-up
    delivers, so it is full of real entries before the batches are measured and what it holds does
    not count. (Filled with copies of one entry instead, it grew as real entries, each with strings
    of its own, replaced the copies that shared theirs: about 1 KiB per conversation, every batch.)"""
    sim.sim.zendesk.deliverer.log.limit = limit


def _sunco(sim: Harness) -> httpx.Auth:
    settings = sim.settings
    return httpx.BasicAuth(settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value())


@pytest.mark.parametrize("ephemeral", [False, True], ids=["state-file", "memory-only"])
async def test_finished_conversations_leave_memory_and_stay_readable(tmp_path: Path, ephemeral: bool) -> None:
    overrides = {
        "sim_state_dir": tmp_path / "state",
        "sim_ephemeral": ephemeral,
        "relay_store": "sqlite",
        "sim_ended_retention": RETAINED,
        "sim_trace_size": 50,  # a bounded ring, full from the first batch on
    }
    # Over a socket: the in-process WebSocket transport (httpx-ws) keeps every connection it made until
    # it closes, which would count the test's own client against the server.
    async with Harness(overrides, transport="socket") as sim:
        tracemalloc.start()  # before the warm-up: what later batches replace in it is counted as freed
        try:
            _bound_delivery_log(sim)
            # Warm-up: first-use caches, the trace ring, pools, indexes, and the URL caches of the
            # HTTP client (yarl keeps the last 128 URLs it parsed: a few per conversation).
            await _held_after_batch(sim, 0, 3 * BATCH)
            first, old_tickets = await _held_after_batch(sim, 100)
            second, _ = await _held_after_batch(sim, 200)
            third, new_tickets = await _held_after_batch(sim, 300)
        finally:
            tracemalloc.stop()
        # Before the fix each finished conversation kept about 50 KiB on the Zendesk side alone.
        grown = max(second - first, third - second) / BATCH
        held = f"{(second - first) / BATCH / 1024:.1f}, {(third - second) / BATCH / 1024:.1f} KiB"
        assert grown < 8 * 1024, f"{held} held per finished conversation (batch 2, batch 3)"

        old, new = old_tickets[0], new_tickets[-1]
        app = f"/sc/v2/apps/{sim.settings.zendesk_app_id}"
        auth = _sunco(sim)
        if ephemeral:  # past the retention: forgotten; the newest ones are still there
            assert (await sim.client.get(f"/_sim/agent/tickets/{old['id']}")).status_code == 404
            readable = [new]
        else:  # the state file keeps them all
            readable = [old, new]
        listed = {t["id"] for t in await sim.agent().tickets()}
        for ticket in readable:
            shown = await sim.client.get(f"/_sim/agent/tickets/{ticket['id']}")
            assert shown.status_code == 200 and shown.json()["status"] == "solved"
            assert ticket["id"] in listed
            messages = await sim.client.get(f"{app}/conversations/{ticket['conversation_id']}/messages", auth=auth)
            assert messages.status_code == 200
            texts = [m["content"].get("text") for m in messages.json()["messages"]]
            assert "talk to a human" in texts and any(t and t.startswith("Hello ") for t in texts)
        # A finished conversation is still there to write to (a late message, a returning user).
        late = await sim.client.post(
            f"{app}/conversations/{readable[0]['conversation_id']}/messages",
            auth=auth,
            json={"author": {"type": "business", "displayName": "Sarah"}, "content": {"type": "text", "text": "PS"}},
        )
        assert late.status_code == 201
