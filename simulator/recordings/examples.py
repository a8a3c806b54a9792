"""The flows behind the committed example recordings, recorded by driving a real server.

`python -m simulator.recordings.examples [FOLDER]` starts the simulator on a loopback socket,
records each flow with a `Recorder` while the actors drive it over HTTP and WebSocket (as a
person with curl and a widget client would), and writes `FOLDER/NAME.json` (default
`recordings/`, overwriting). The tests drive the same flows.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from simulator.recordings.recorder import Recorder
from simulator.scenarios.harness import Harness

Flow = Callable[[Harness], Awaitable[None]]


def _saw(user: Any, event_type: str) -> Callable[[], bool]:
    return lambda: any(str(e.get("type", "")).endswith(event_type) for e in user.seen)


async def happy_path(sim: Harness) -> None:
    """The bot hands over, Sarah accepts and helps, the ticket is solved and the chat ends."""
    ana = await sim.user("ana", profile={"name": "Ana Lima", "email": "ana@example.test"})
    await sim.advance(4)
    await ana.say("I'd like to talk to a human")
    ticket = await sim.ticket_for(ana, within=5)
    await sim.advance(20)
    sarah = sim.agent("Sarah")
    await sarah.accept(ticket["id"])
    await sarah.say(ticket["id"], "Hi Ana, I'm Sarah. How can I help?")
    await sim.eventually(_saw(ana, "LIVE_AGENT_MESSAGE"), within=5)
    await sim.advance(6)
    await ana.say("My order never arrived")
    await sim.advance(30)
    await sarah.say(ticket["id"], "Sorry about that! A replacement is on its way.")
    await sim.advance(5)
    await sarah.set_status(ticket["id"], "solved")
    await sim.eventually(_saw(ana, "SESSION_END"), within=5)


async def zendesk_down(sim: Harness) -> None:
    """SunCo answers 503 to everything: the handoff fails after its retries, the bot carries on."""
    ana = await sim.user("ana", profile={"name": "Ana Lima", "email": "ana@example.test"})
    await sim.fault({"target": "sunco", "status": 503, "count": 50})
    await ana.say("talk to a human")
    await sim.eventually(_saw(ana, "HANDOFF_FAILED"), within=60)
    await sim.advance(5)
    await sim.fault("clear")
    await ana.say("when are you open?")
    await sim.eventually(lambda: len(ana.seen) > 0 and "open" in str(ana.seen[-1].get("payload")), within=5)


async def sms_handoff(sim: Harness) -> None:
    """An SMS user texts for an agent, gets a long reply in segments, and the ticket is solved."""
    phone = await sim.user("phone", channel="sms", phone="+15550104242")
    await phone.say("agent please")
    ticket = await sim.ticket_for(phone, within=5)
    await sim.advance(15)
    sarah = sim.agent("Sarah")
    await sarah.accept(ticket["id"])
    await sarah.say(
        ticket["id"],
        "Hi! Your order left our warehouse on Monday, it is with the courier now, and it should reach you "
        "by Thursday afternoon. If it doesn't, reply here and I'll send a replacement straight away.",
    )
    await sim.eventually(lambda: any("Thursday" in str(e.get("payload")) for e in phone.seen), within=5)
    await sim.advance(10)
    await phone.say("great, thanks")
    await sim.advance(8)
    await sarah.set_status(ticket["id"], "solved")
    await sim.eventually(lambda: any("ended" in str(e.get("payload")) for e in phone.seen), within=5)


FLOWS: dict[str, Flow] = {"happy_path": happy_path, "zendesk_down": zendesk_down, "sms_handoff": sms_handoff}


async def record_flow(
    name: str, flow: Flow, folder: Path, *, force: bool = False, transport: str = "socket"
) -> tuple[Path, list[str]]:
    """Run `flow` on a fresh server while recording it; returns the file and the run's secrets (for checks)."""
    async with Harness(transport="socket" if transport == "socket" else "asgi") as sim:
        recorder = Recorder(sim.sim.trace, name, folder, force, settings=sim.settings, faults=sim.sim.zendesk.faults)
        recorder.start()
        await flow(sim)
        path = recorder.stop()
        secrets = sim.settings.secret_values() + sim.sim.relay_settings.secret_values()
    return path, secrets


async def main(folder: Path) -> None:
    for name, flow in FLOWS.items():
        path, _ = await record_flow(name, flow, folder, force=True)
        print(f"recorded {path}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("recordings")))
