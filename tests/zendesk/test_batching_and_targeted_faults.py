"""Webhook batching (several conversations per POST, order kept per conversation) and targeted or slow SunCo faults."""

from __future__ import annotations

import asyncio
import json

import httpx
from zdhelpers import Receiver, app_path, delivered, make_conversation, user_says

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator
from simulator.zendesk.faults import operation_name


async def test_deliveries_of_several_conversations_share_a_post_and_keep_each_conversations_order(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    ana, ana_conv = await make_conversation(zclient, settings, "Ana")
    ben, ben_conv = await make_conversation(zclient, settings, "Ben")
    receiver.answers = [503]  # the first POST fails once: everything in it waits for its retry
    for index in range(6):
        await user_says(zclient, settings, ana_conv, ana, f"ana {index}")
        await user_says(zclient, settings, ben_conv, ben, f"ben {index}")
    for _ in range(10):
        await clock.advance(1)
    await delivered(emulator)
    posts = [json.loads(r.content)["events"] for r in receiver.requests]
    assert any(len({e["payload"]["conversation"]["id"] for e in events}) > 1 for events in posts)
    assert all(len(events) <= settings.zendesk_webhook_batch_size for events in posts)
    delivered_texts = [e["payload"]["message"]["content"]["text"] for events in posts[1:] for e in events]
    for who in ("ana", "ben"):
        mine = [t for t in delivered_texts if t.startswith(who)]
        assert mine == [f"{who} {i}" for i in range(6)]  # each once, in order


async def test_a_batch_fault_puts_the_next_deliveries_in_one_post_with_an_unreadable_event(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    emulator.deliverer.batch_size = 1
    ana, ana_conv = await make_conversation(zclient, settings, "Ana")
    ben, ben_conv = await make_conversation(zclient, settings, "Ben")
    await delivered(emulator)
    before = len(receiver.requests)
    fault = {"target": "webhooks", "mode": "batch", "kind": "sunco", "count": 3, "with_invalid_event": True}
    assert (await zclient.post("/_sim/faults", json=fault)).status_code == 201
    await user_says(zclient, settings, ana_conv, ana, "a1")
    await user_says(zclient, settings, ben_conv, ben, "b1")
    await user_says(zclient, settings, ana_conv, ana, "a2")
    await clock.advance(1)
    await delivered(emulator)
    receiver.schema_errors.clear()  # the unreadable event is the point
    (post,) = receiver.requests[before:]
    events = json.loads(post.content)["events"]
    assert len(events) == 4 and "type" not in events[1]
    texts = [e["payload"]["message"]["content"]["text"] for e in events if "type" in e]
    assert texts == ["a1", "b1", "a2"]


def test_operation_names() -> None:
    assert operation_name("POST", "/conversations/c1/passControl") == "passControl"
    assert operation_name("POST", "/conversations/c1/messages") == "POST messages"
    assert operation_name("GET", "/conversations/c1/messages") == "GET messages"
    assert operation_name("GET", "/conversations/c1") == "GET conversation"
    assert operation_name("POST", "/users") == "POST users"


async def test_a_sunco_fault_for_one_operation_leaves_the_others_alone_and_can_answer_late(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    fault = {"target": "sunco", "operation": "POST messages", "status": 500, "after_acting": True}
    assert (await zclient.post("/_sim/faults", json=fault)).status_code == 201
    assert (await zclient.get(app_path(settings, f"/conversations/{conv_id}/messages"))).status_code == 200
    body = {"author": {"type": "user", "userId": user_id}, "content": {"type": "text", "text": "stored anyway"}}
    posted = await zclient.post(app_path(settings, f"/conversations/{conv_id}/messages"), json=body)
    assert posted.status_code == 500
    listed = (await zclient.get(app_path(settings, f"/conversations/{conv_id}/messages"))).json()["messages"]
    assert [m["content"]["text"] for m in listed] == ["stored anyway"]

    slow = {"target": "sunco", "operation": "GET conversation", "delay_seconds": 30}
    assert (await zclient.post("/_sim/faults", json=slow)).status_code == 201
    answer = asyncio.create_task(zclient.get(app_path(settings, f"/conversations/{conv_id}")))
    await clock.advance(29)
    assert not answer.done()
    await clock.advance(2)
    assert (await answer).status_code == 200


async def test_a_fault_needs_a_status_or_a_delay(zclient: httpx.AsyncClient) -> None:
    response = await zclient.post("/_sim/faults", json={"target": "sunco", "operation": "passControl"})
    assert response.status_code == 400
    assert "status" in response.json()["error"]
