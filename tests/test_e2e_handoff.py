"""End to end: the real relay between the widget emulator and the SunCo/Zendesk emulator.

Each flow runs twice: in-process over the ASGI transport, and over a real loopback socket.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from simulator.scenarios.actors import EndUser, short_type
from simulator.scenarios.harness import Harness

Transport = Literal["asgi", "socket"]
pytestmark = pytest.mark.parametrize("transport", ["asgi", "socket"])


def types(user: EndUser) -> list[str]:
    return [short_type(e["type"]) for e in user.seen]


def texts(user: EndUser, kind: str) -> list[str]:
    return [e["payload"].get("text", "") for e in user.seen if short_type(e["type"]) == kind]


async def seen(sim: Harness, user: EndUser, kind: str, count: int = 1, within: float = 5) -> list[dict[str, Any]]:
    ok = await sim.eventually(
        lambda: len([e for e in user.seen if short_type(e["type"]) == kind]) >= count, within=within
    )
    assert ok, f"{user.name} never saw {count} x {kind}; saw {types(user)}"
    return [e for e in user.seen if short_type(e["type"]) == kind]


async def test_full_handoff_messages_typing_and_solve(transport: Transport) -> None:
    async with Harness(transport=transport) as sim:
        ana = await sim.user("ana", profile={"name": "Ana Lopez", "email": "ana@example.test"})
        await seen(sim, ana, "POLY_AGENT_MESSAGE")  # the greeting
        await ana.say("Hi, can I talk to a human?")
        await seen(sim, ana, "HANDOFF_ACCEPTED")
        handoff = types(ana)[types(ana).index("USER_MESSAGE") :]
        assert handoff == [
            "USER_MESSAGE",
            "POLY_AGENT_THINKING",
            "POLY_AGENT_MESSAGE",
            "POLY_AGENT_TRIGGERED_HANDOFF",
            "POLY_AGENT_LEFT",
            "HANDOFF_ACCEPTED",
        ]

        ticket = await sim.ticket_for(ana, within=5)
        assert ticket["requester"] == {"name": "Ana Lopez", "email": "ana@example.test"}
        assert "polyai_handoff" in ticket["tags"]
        transcript = [line["text"] for line in ticket["transcript"]]
        assert "Hi, can I talk to a human?" in transcript  # the bot-side context reached the agent

        sarah = sim.agent("Sarah")
        await sarah.accept(ticket["id"])
        await sarah.typing(ticket["id"], True)
        typing = await seen(sim, ana, "LIVE_AGENT_TYPING")
        assert typing[0]["sequence"] is None and typing[0]["payload"]["state"] == "TYPING_STATE_STARTED"
        await sarah.say(ticket["id"], "Hello Ana, Sarah here.")
        await seen(sim, ana, "LIVE_AGENT_MESSAGE")
        joined = await seen(sim, ana, "LIVE_AGENT_JOINED")
        assert len(joined) == 1 and joined[0]["payload"]["agent"]["name"] == "Sarah"
        assert types(ana).index("LIVE_AGENT_JOINED") < types(ana).index("LIVE_AGENT_MESSAGE")

        await ana.typing(True)
        for text in ("one", "two", "three"):
            await ana.say(text)

        async def agent_has_all() -> bool:
            lines = [line["text"] for line in (await sim.ticket_for(ana))["transcript"]]
            return lines[-3:] == ["one", "two", "three"]

        assert await sim.eventually(agent_has_all, within=5)
        await sarah.say(ticket["id"], "Done!")
        await seen(sim, ana, "LIVE_AGENT_MESSAGE", count=2)
        assert texts(ana, "LIVE_AGENT_MESSAGE") == ["Hello Ana, Sarah here.", "Done!"]

        await sarah.set_status(ticket["id"], "solved")
        await seen(sim, ana, "SESSION_END")
        tail = types(ana)[-2:]
        assert tail == ["LIVE_AGENT_LEFT", "SESSION_END"]
        assert ana.seen[-1]["payload"]["reason"] == "REASON_NATURAL_END"
        session = await sim.relay_session(ana)
        assert session is not None and session["state"] == "ended"
