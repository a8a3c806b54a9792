"""Batches take the oldest waiting deliveries of any conversation, each conversation's in order, and
nothing a reset dropped."""

from __future__ import annotations

import asyncio
import json

import httpx

from simulator.clock import SystemClock
from simulator.zendesk.faults import FaultBook
from simulator.zendesk.webhooks import Deliverer, Delivery


def _delivery(key: str, text: str) -> Delivery:
    body = json.dumps({"events": [{"id": text}]}).encode()
    return Delivery(
        kind="sunco",
        key=key,
        target="http://relay/hook",
        body=body,
        headers=lambda _: {},
        event_ids=[text],
        event_types=["conversation:message"],
    )


async def _posts(deliverer: Deliverer, sent: list[list[str]], count: int) -> None:
    for _ in range(200):
        if sum(map(len, sent)) >= count and deliverer.idle:
            return
        await asyncio.sleep(0.005)


async def test_a_batch_takes_waiting_deliveries_oldest_first_and_a_freed_conversation_lends_again() -> None:
    sent: list[list[str]] = []

    def relay(request: httpx.Request) -> httpx.Response:
        sent.append([event["id"] for event in json.loads(request.content)["events"]])
        return httpx.Response(200)

    deliverer = Deliverer(SystemClock(), httpx.MockTransport(relay), FaultBook(), batch_size=3)
    for key, text in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("b", "b2")]:
        deliverer.enqueue(_delivery(key, text))
    await deliverer.startup()
    try:
        await _posts(deliverer, sent, 5)
        deliverer.enqueue(_delivery("b", "b3"))  # b was borrowed and freed: it lends (or sends) again
        deliverer.enqueue(_delivery("c", "c2"))
        await _posts(deliverer, sent, 7)
    finally:
        await deliverer.shutdown()
    assert sent[0] == ["a1", "b1", "a2"]  # the oldest three, whichever conversation they belong to
    flat = [event for post in sent for event in post]
    assert sorted(flat) == ["a1", "a2", "b1", "b2", "b3", "c1", "c2"]  # each once
    for key in "abc":
        mine = [event for event in flat if event.startswith(key)]
        assert mine == sorted(mine)  # each conversation's in order


async def test_deliveries_a_reset_dropped_are_never_batched_with_later_ones() -> None:
    sent: list[list[str]] = []

    def relay(request: httpx.Request) -> httpx.Response:
        sent.append([event["id"] for event in json.loads(request.content)["events"]])
        return httpx.Response(200)

    deliverer = Deliverer(SystemClock(), httpx.MockTransport(relay), FaultBook(), batch_size=10)
    deliverer.enqueue(_delivery("a", "old-a"))
    deliverer.enqueue(_delivery("b", "old-b"))
    await deliverer.reset()
    deliverer.enqueue(_delivery("c", "new-c"))
    await deliverer.startup()
    try:
        await _posts(deliverer, sent, 1)
    finally:
        await deliverer.shutdown()
    assert sent == [["new-c"]]
