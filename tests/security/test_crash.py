"""`kill -9` mid-chat and a restart on the same state folder: the conversation carries on, nothing lost or twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.security.server import Chat, Server, client_for, eventually, make_environment


async def _ticket(client: httpx.AsyncClient) -> dict[str, Any] | None:
    tickets = (await client.get("/_sim/agent/tickets")).json()["tickets"]
    return tickets[0] if tickets else None


async def _transcript(client: httpx.AsyncClient, ticket_id: int) -> list[str]:
    ticket = (await client.get(f"/_sim/agent/tickets/{ticket_id}")).json()
    return [line["text"] for line in ticket["transcript"]]


async def _relay_state(client: httpx.AsyncClient, session_id: str) -> str:
    sessions = (await client.get("/_sim/relay/sessions")).json()["sessions"]
    return next((s["state"] for s in sessions if s["session_id"] == session_id), "")


async def test_a_conversation_survives_kill_9_mid_chat(tmp_path: Path) -> None:
    env = make_environment(tmp_path / "state")
    log = tmp_path / "server.log"
    server = Server(env, tmp_path, log)
    try:
        async with client_for(server) as client:
            ana = Chat(client, env)
            await ana.open()
            await ana.send("REQUEST_POLY_AGENT_JOIN")
            await ana.say("talk to a human")
            ticket = await eventually(lambda: _ticket(client))
            await eventually(lambda: _relay_state(client, ana.session_id))
            accepted = await client.post(f"/_sim/agent/tickets/{ticket['id']}/accept", json={"agent_name": "Sarah"})
            assert accepted.is_success
            await client.post(f"/_sim/agent/tickets/{ticket['id']}/messages", json={"text": "Hi Ana, Sarah here"})
            await eventually(lambda: "Hi Ana, Sarah here" in ana.texts("LIVE_AGENT_MESSAGE"))
            await ana.say("my parcel is late")
            await eventually(lambda: _has(client, ticket["id"], "my parcel is late"))
            # Mid-chat: the agent's reply is accepted (201) and the user's next message is on its way.
            reply = await client.post(f"/_sim/agent/tickets/{ticket['id']}/messages", json={"text": "Let me look"})
            assert reply.status_code == 201
            await ana.say("order 1234")
            await eventually(lambda: any(e["payload"].get("text") == "order 1234" for e in ana.events))
            await ana.close()
        server.kill()

        server = Server(env, tmp_path, log)
        async with client_for(server) as client:
            await ana_reconnects(ana, client)
            await eventually(lambda: "Let me look" in ana.texts("LIVE_AGENT_MESSAGE"))
            await eventually(lambda: _has(client, ticket["id"], "order 1234"))
            await client.post(f"/_sim/agent/tickets/{ticket['id']}/messages", json={"text": "Found it, arriving today"})
            await eventually(lambda: "Found it, arriving today" in ana.texts("LIVE_AGENT_MESSAGE"))
            await ana.say("thanks!")
            await eventually(lambda: _has(client, ticket["id"], "thanks!"))
            solved = await client.post(f"/_sim/agent/tickets/{ticket['id']}/status", json={"status": "solved"})
            assert solved.is_success
            await eventually(lambda: ana.events and ana.events[-1]["type"] == "EVENT_TYPE_SESSION_END")
            assert await _relay_state(client, ana.session_id) == "ended"
            transcript = await _transcript(client, ticket["id"])
            await ana.close()
    finally:
        assert server.stop() in (0, -9)

    # The user saw every event once, numbered 1..N without a gap, and each agent message once.
    sequences = [e["sequence"] for e in ana.events]
    assert sequences == list(range(1, len(sequences) + 1))
    assert ana.texts("LIVE_AGENT_MESSAGE") == ["Hi Ana, Sarah here", "Let me look", "Found it, arriving today"]
    assert ana.events[-1]["payload"]["reason"] == "REASON_NATURAL_END"
    # The agent saw each user message once, in order.
    said = [t for t in transcript if t in ("talk to a human", "my parcel is late", "order 1234", "thanks!")]
    assert said[-3:] == ["my parcel is late", "order 1234", "thanks!"]
    assert len(said) == len(set(said))


async def ana_reconnects(ana: Chat, client: httpx.AsyncClient) -> None:
    """The widget reconnects to the restarted server with its token and cursor."""
    ana.client = client
    await ana.connect()


async def _has(client: httpx.AsyncClient, ticket_id: int, text: str) -> bool:
    return text in await _transcript(client, ticket_id)
