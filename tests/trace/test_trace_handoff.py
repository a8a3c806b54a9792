"""The trace of a whole handoff: every boundary crossing, in order, per conversation, over HTTP and SSE."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from simulator.scenarios.actors import EndUser, short_type
from simulator.scenarios.harness import Harness


async def hand_off_and_solve(sim: Harness, user: EndUser) -> int:
    await user.say("talk to a human")
    ticket = await sim.ticket_for(user, within=5)
    sarah = sim.agent("Sarah")
    await sarah.accept(ticket["id"])
    await sarah.say(ticket["id"], "Hi, Sarah here")
    assert await sim.eventually(lambda: any(short_type(e["type"]) == "LIVE_AGENT_MESSAGE" for e in user.seen), within=5)
    await sarah.set_status(ticket["id"], "solved")
    assert await sim.eventually(lambda: short_type(user.seen[-1]["type"]) == "SESSION_END", within=5)
    return int(ticket["id"])


def first(entries: list[dict[str, Any]], kind: str, contains: str = "", start: int = 0) -> int:
    for index, entry in enumerate(entries):
        if index >= start and entry["kind"] == kind and contains in entry["summary"]:
            return index
    raise AssertionError(f"no {kind} entry containing {contains!r}: {[e['summary'] for e in entries]}")


async def test_a_handoff_leaves_every_crossing_in_order_and_no_secret() -> None:
    async with Harness() as sim:
        ana = await sim.user("ana", profile={"name": "Ana", "email": "ana@example.test"})
        other = await sim.user("bob")
        await other.say("hello")
        ticket_id = await hand_off_and_solve(sim, ana)
        assert ana.session_id is not None

        response = await sim.client.get("/_sim/trace", params={"conversation": ana.session_id})
        assert response.status_code == 200
        entries = response.json()["entries"]
        kinds = {e["kind"] for e in entries}
        assert kinds >= {"widget.in", "widget.out", "sunco.call", "webhook", "status.webhook", "agent.action"}
        assert "relay.state" in kinds
        # Nothing of the other user's conversation, and the one conversation carries all three ids.
        assert all(e["session"] in (None, ana.session_id) for e in entries)
        assert any(e["ticket"] == ticket_id and e["session"] == ana.session_id for e in entries)

        said = first(entries, "widget.in", "talk to a human")
        handing_off = first(entries, "relay.state", "bot -> handing_off")
        pass_control = first(entries, "sunco.call", "/passControl 200")
        accepted = first(entries, "agent.action", "accepts")
        agent_said = first(entries, "agent.action", "Hi, Sarah here")
        webhook = first(entries, "webhook", "conversation:message")
        shown = first(entries, "widget.out", "LIVE_AGENT_MESSAGE 'Hi, Sarah here'")
        solved = first(entries, "agent.action", "open -> solved")
        told = first(entries, "status.webhook", "200", start=solved)
        ended = first(entries, "relay.state", "-> ended")
        assert said < handing_off < pass_control < accepted < agent_said < shown < solved < told < ended
        assert entries[told]["data"]["request"]["detail"]["status"].lower() == "solved"
        assert webhook < shown
        call = entries[pass_control]
        assert call["data"]["method"] == "POST" and call["status"] == 200 and call["ms"] is not None

        text = json.dumps(response.json())
        for secret in sim.settings.secret_values():
            assert secret not in text
        assert ana.access_token is not None and ana.access_token not in text


async def test_listing_takes_a_cursor_and_refuses_bad_filters_clearly() -> None:
    async with Harness() as sim:
        ana = await sim.user("ana")
        page = (await sim.client.get("/_sim/trace")).json()
        await ana.say("hello")
        assert await sim.eventually(lambda: len(ana.seen) >= 6, within=2)
        newer = (await sim.client.get("/_sim/trace", params={"after": page["last"]})).json()
        assert newer["entries"] and all(e["seq"] > page["last"] for e in newer["entries"])
        assert newer["entries"][0]["kind"] == "widget.in"

        bad = await sim.client.get("/_sim/trace", params={"kind": "nope"})
        assert bad.status_code == 400 and "kind must be one of" in bad.json()["error"]
        bad = await sim.client.get("/_sim/trace", params={"after": "x"})
        assert bad.status_code == 400 and "after must be a whole number" in bad.json()["error"]

        await sim.client.post("/_sim/reset")
        assert (await sim.client.get("/_sim/trace")).json()["entries"] == []


async def test_the_stream_follows_a_live_handoff_over_a_real_socket() -> None:
    async with Harness(transport="socket") as sim:
        received: list[dict[str, Any]] = []
        ids: list[int] = []
        connected = asyncio.Event()

        async def follow() -> None:
            url = f"{sim.settings.public_base_url}/_sim/trace/stream"
            async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                event: dict[str, str] = {}
                async for line in response.aiter_lines():
                    connected.set()
                    if line.startswith(("id:", "event:", "data:")):
                        name, _, value = line.partition(": ")
                        event[name] = value
                    elif line == "" and "data" in event:
                        entry = json.loads(event["data"])
                        assert event["event"] == entry["kind"]
                        ids.append(int(event["id"]))
                        received.append(entry)
                        event = {}
                        if entry["kind"] == "relay.state" and entry["data"]["to"] == "ended":
                            return

        reader = asyncio.create_task(follow())
        await asyncio.wait_for(connected.wait(), 10)
        ana = await sim.user("ana")
        await hand_off_and_solve(sim, ana)
        await asyncio.wait_for(reader, 10)

        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert {e["kind"] for e in received} >= {"widget.in", "widget.out", "sunco.call", "webhook", "agent.action"}
        # The stream and the listing agree on what happened.
        listing = (await sim.client.get("/_sim/trace")).json()["entries"]
        assert [e["seq"] for e in listing if e["seq"] in set(ids)] == ids


async def test_the_stream_replays_from_last_event_id() -> None:
    async with Harness(transport="socket") as sim:
        ana = await sim.user("ana")
        await ana.say("hello")
        assert await sim.eventually(lambda: len(ana.seen) >= 6, within=2)
        entries = (await sim.client.get("/_sim/trace")).json()["entries"]
        url = f"{sim.settings.public_base_url}/_sim/trace/stream"
        async with httpx.AsyncClient(timeout=10) as client:
            headers = {"Last-Event-ID": str(entries[-2]["seq"])}
            async with client.stream("GET", url, headers=headers) as response:
                got: list[int] = []
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        got.append(int(line[4:]))
                        if len(got) == 1:
                            break
        assert got == [entries[-1]["seq"]]


async def test_serve_trace_file_gets_the_same_entries(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    async with Harness({"sim_trace_file": path}) as sim:
        ana = await sim.user("ana")
        await ana.say("hello")
        assert await sim.eventually(lambda: len(ana.seen) >= 6, within=2)
        listing = (await sim.client.get("/_sim/trace")).json()["entries"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [e["seq"] for e in listing]


async def test_the_trace_can_be_turned_off() -> None:
    async with Harness({"sim_trace_size": 0}) as sim:
        ana = await sim.user("ana")
        await ana.say("hello")
        body = (await sim.client.get("/_sim/trace")).json()
        assert body["entries"] == [] and body["enabled"] is False
        assert (await sim.client.get("/_sim/trace/stream")).status_code == 409
