"""Webhook delivery: envelope and headers, switchboard routing, retries, order, faults and the log."""

from __future__ import annotations

import asyncio
import json

import httpx
from zdhelpers import Receiver, app_path, delivered, make_conversation, user_says

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator
from simulator.zendesk.webhooks import BACKOFF_SECONDS


async def test_message_webhook_envelope_headers_and_echo(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    message_id = await user_says(zclient, settings, conv_id, user_id, "hello")
    await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": {"type": "business", "displayName": "Bot"}, "content": {"type": "text", "text": "hi"}},
    )
    await delivered(emulator)
    assert len(receiver.events()) == 2  # in one POST or two, as SunCo batches
    request = receiver.requests[0]
    assert str(request.url) == settings.relay_url + settings.events_webhook_path
    assert request.headers["x-api-key"] == settings.zendesk_shared_secret.get_secret_value()
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body["app"] == {"id": settings.zendesk_app_id}
    assert body["webhook"] == {"id": settings.zendesk_webhook_id, "version": "v2"}
    user_event, echo = receiver.events("conversation:message")
    assert user_event["payload"]["message"]["id"] == message_id
    assert user_event["payload"]["message"]["author"]["user"]["id"] == user_id
    assert user_event["payload"]["conversation"]["activeSwitchboardIntegration"]["name"] == "polyai"
    # The relay's own API-posted messages come back too, marked as API-sourced without integrationId.
    assert echo["payload"]["message"]["source"] == {"type": "api:conversations"}
    assert echo["payload"]["message"]["author"]["type"] == "business"


async def test_typing_and_read_events(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    path = app_path(settings, f"/conversations/{conv_id}/activity")
    await zclient.post(path, json={"type": "conversation:read", "author": {"type": "user", "userId": user_id}})
    await zclient.post(path, json={"type": "typing:start", "author": {"type": "business"}})
    await delivered(emulator)
    assert receiver.events("conversation:read")[0]["payload"]["activity"]["author"]["userId"] == user_id
    assert receiver.events("conversation:typing")[0]["payload"]["activity"]["type"] == "typing:start"


async def test_standby_delivery_follows_deliver_standby_events(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"), json={"switchboardIntegration": "next"}
    )
    await user_says(zclient, settings, conv_id, user_id, "while the agent has it")
    await delivered(emulator)
    event = receiver.events("conversation:message")[-1]
    assert event["payload"]["conversation"]["activeSwitchboardIntegration"]["name"] == "zd-agentWorkspace"

    # Without deliverStandbyEvents the relay's integration hears nothing while standby.
    polyai = emulator.state.find_switchboard_integration("polyai")
    assert polyai is not None
    polyai.deliver_standby_events = False
    before = len(receiver.requests)
    await user_says(zclient, settings, conv_id, user_id, "unheard")
    await delivered(emulator)
    assert len(receiver.requests) == before
    # ...unless it is pending after an offer.
    await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/offerControl"), json={"switchboardIntegration": "polyai"}
    )
    await user_says(zclient, settings, conv_id, user_id, "heard again")
    await delivered(emulator)
    assert [e["type"] for e in receiver.events()[-2:]] == ["switchboard:offerControl", "conversation:message"]
    await zclient.post(app_path(settings, f"/conversations/{conv_id}/acceptControl"), json={})
    await delivered(emulator)
    accepted = receiver.events("switchboard:acceptControl")[-1]["payload"]["conversation"]
    assert accepted["activeSwitchboardIntegration"]["name"] == "polyai"
    assert "pendingSwitchboardIntegration" not in accepted


async def test_release_then_user_message_goes_to_default(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    released = await zclient.post(app_path(settings, f"/conversations/{conv_id}/releaseControl"), json={})
    assert released.status_code == 200
    conversation = (await zclient.get(app_path(settings, f"/conversations/{conv_id}"))).json()["conversation"]
    assert "activeSwitchboardIntegration" not in conversation
    await user_says(zclient, settings, conv_id, user_id, "back")
    await delivered(emulator)
    assert (
        "activeSwitchboardIntegration"
        not in receiver.events("switchboard:releaseControl")[0]["payload"]["conversation"]
    )
    last = receiver.events("conversation:message")[-1]
    assert last["payload"]["conversation"]["activeSwitchboardIntegration"]["name"] == "polyai"


async def test_pass_control_to_unknown_target_is_400_and_failure_event(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    _, conv_id = await make_conversation(zclient, settings)
    response = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"), json={"switchboardIntegration": "nobody"}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["title"].startswith("switchboardIntegration")
    missing = await zclient.post(app_path(settings, f"/conversations/{conv_id}/passControl"), json={})
    assert missing.json()["errors"][0]["title"] == "switchboardIntegration: Field required"
    await delivered(emulator)
    assert (
        receiver.events("switchboard:passControl:failure")[0]["payload"]["error"]["code"]
        == "switchboard_invalid_target"
    )


async def test_failing_target_is_retried_with_backoff_and_arrives_once(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    emulator.deliverer.batch_size = 1  # one event per POST: the retry schedule of one delivery
    receiver.answers = [500, 503]
    await user_says(zclient, settings, conv_id, user_id, "retry me")
    await user_says(zclient, settings, conv_id, user_id, "after me")
    first_wait, second_wait = BACKOFF_SECONDS[:2]
    await clock.advance(first_wait - 0.5)
    assert len(receiver.requests) == 1  # waiting before the second attempt
    await clock.advance(0.5)
    assert len(receiver.requests) == 2  # then longer before the third
    await clock.advance(second_wait - 0.1)
    assert len(receiver.requests) == 2
    await clock.advance(0.1)
    await delivered(emulator)
    texts = [e["payload"]["message"]["content"]["text"] for e in receiver.events()]
    assert texts == ["retry me", "retry me", "retry me", "after me"]  # in order: the next waits for the retries
    log = (await zclient.get("/_sim/deliveries", params={"kind": "sunco"})).json()
    assert [(e["attempt"], e["status"], e["outcome"]) for e in log] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
        (1, 200, "delivered"),
    ]
    assert log[0]["event_types"] == ["conversation:message"] and log[0]["time"] == "2026-01-01T09:00:00.000Z"
    assert log[2]["time"] == "2026-01-01T09:01:10.000Z"  # 10 s + 60 s after the first attempt


async def test_unauthorized_answer_is_not_retried(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    receiver.answers = [401]
    await user_says(zclient, settings, conv_id, user_id, "rejected")
    await clock.advance(60)
    log = emulator.deliverer.log.entries()
    assert [(e["attempt"], e["status"], e["outcome"]) for e in log] == [(1, 401, "failed")]


async def test_gives_up_after_five_attempts(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "fail", "status": 502, "count": 5})
    await user_says(zclient, settings, conv_id, user_id, "doomed")
    await clock.advance(sum(BACKOFF_SECONDS))  # about 15 minutes, as SunCo spreads its retries
    log = emulator.deliverer.log.entries()
    assert [e["attempt"] for e in log] == [1, 2, 3, 4, 5]
    assert log[-1]["outcome"] == "failed" and log[-1]["status"] == 502
    assert receiver.requests == []  # injected failures never reach the target


async def test_webhook_faults_duplicate_drop_delay_reorder(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)

    def texts() -> list[str]:
        return [e["payload"]["message"]["content"]["text"] for e in receiver.events()]

    await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "duplicate"})
    await user_says(zclient, settings, conv_id, user_id, "twice")
    await delivered(emulator)
    assert texts() == ["twice", "twice"]

    await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "drop"})
    await user_says(zclient, settings, conv_id, user_id, "lost")
    await delivered(emulator)
    assert texts() == ["twice", "twice"]
    assert emulator.deliverer.log.entries()[-1]["outcome"] == "dropped"

    await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "delay", "delay_seconds": 30})
    await user_says(zclient, settings, conv_id, user_id, "late")
    await clock.advance(29)
    assert texts() == ["twice", "twice"]
    await clock.advance(1)
    await delivered(emulator)
    assert texts()[-1] == "late"

    await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "reorder"})
    await user_says(zclient, settings, conv_id, user_id, "first")
    await user_says(zclient, settings, conv_id, user_id, "second")
    await delivered(emulator)
    assert texts()[-2:] == ["second", "first"]
    assert (await zclient.get("/_sim/faults")).json() == {"faults": []}
    bad = await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "explode"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("webhooks.mode")


async def test_reset_forgets_data_but_keeps_configuration(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    await user_says(zclient, settings, conv_id, user_id, "hello")
    await zclient.post("/_sim/faults", json={"target": "sunco", "status": 500, "count": 9})
    await delivered(emulator)
    await emulator.reset()
    assert (await zclient.get("/_sim/deliveries")).json() == []
    assert (await zclient.get(app_path(settings, f"/conversations/{conv_id}"))).status_code == 404
    assert len((await zclient.get(app_path(settings, "/integrations"))).json()["integrations"]) == 1
    user_id, conv_id = await make_conversation(zclient, settings)
    await user_says(zclient, settings, conv_id, user_id, "after reset")
    await delivered(emulator)
    assert receiver.events()[-1]["payload"]["message"]["content"]["text"] == "after reset"


async def test_crashing_or_unreachable_target_is_retried(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    receiver.answers = [RuntimeError("relay bug"), httpx.ConnectError("refused")]
    await user_says(zclient, settings, conv_id, user_id, "eventually")
    await clock.advance(sum(BACKOFF_SECONDS[:2]))
    await delivered(emulator)
    log = emulator.deliverer.log.entries()
    assert [(e["status"], e["outcome"]) for e in log] == [(None, "retrying"), (None, "retrying"), (200, "delivered")]
    assert log[0]["error"] == "target raised RuntimeError" and log[1]["error"].startswith("ConnectError")


async def test_status_webhook_is_retried_and_logged_as_zendesk_status(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"), json={"switchboardIntegration": "next"}
    )
    await delivered(emulator)
    receiver.answers = [503]
    await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    await clock.advance(BACKOFF_SECONDS[0])
    await delivered(emulator)
    log = (await zclient.get("/_sim/deliveries", params={"kind": "zendesk_status"})).json()
    assert [(e["attempt"], e["status"]) for e in log] == [(1, 503), (2, 200)]
    assert log[0]["event_types"] == ["zen:event-type:ticket.status_changed"]
    first, second = receiver.status_requests()
    assert first.headers["x-zendesk-webhook-invocation-id"] == second.headers["x-zendesk-webhook-invocation-id"]
    # each attempt is signed with its own timestamp
    assert first.headers["x-zendesk-webhook-signature-timestamp"] == "2026-01-01T09:00:00Z"
    assert second.headers["x-zendesk-webhook-signature-timestamp"] == "2026-01-01T09:00:10Z"


async def test_reset_while_a_delivery_retries_and_another_is_queued_meanwhile(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    receiver.answers = [500]
    await user_says(zclient, settings, conv_id, user_id, "in flight")
    await clock.advance(0.5)  # the worker now sleeps in its backoff
    assert clock.sleepers == 1

    async def enqueue_during_reset() -> None:
        await asyncio.sleep(0)  # reset() has started stopping the workers
        await user_says(zclient, settings, conv_id, user_id, "during reset")

    await asyncio.gather(emulator.reset(), enqueue_during_reset())
    await delivered(emulator)
    assert emulator.deliverer.idle and clock.sleepers == 0
    # Whatever happened to "during reset", the key's queue must not be left without a worker.
    user_id, conv_id = await make_conversation(zclient, settings)
    await user_says(zclient, settings, conv_id, user_id, "after reset")
    await delivered(emulator)
    assert receiver.events()[-1]["payload"]["message"]["content"]["text"] == "after reset"


async def test_shutdown_with_deliveries_pending_does_not_hang(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    receiver.answers = [500]
    await user_says(zclient, settings, conv_id, user_id, "retrying")
    await user_says(zclient, settings, conv_id, user_id, "queued behind")
    await zclient.post("/_sim/faults", json={"target": "webhooks", "mode": "delay", "delay_seconds": 30})
    other_user, other_conv = await make_conversation(zclient, settings, name="Bo")
    await user_says(zclient, settings, other_conv, other_user, "delayed")
    await clock.advance(0.5)
    await emulator.shutdown()
    assert clock.sleepers == 0
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("zendesk-delivery")] == []
    await emulator.startup()  # the fixture shuts down again


async def test_a_retrying_conversation_does_not_hold_up_another(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver, clock: VirtualClock
) -> None:
    ana, ana_conv = await make_conversation(zclient, settings, name="Ana")
    bo, bo_conv = await make_conversation(zclient, settings, name="Bo")
    receiver.answers = [500]
    await user_says(zclient, settings, ana_conv, ana, "ana 1")
    await clock.advance(0)  # ana's first attempt fails; her queue now waits before retrying
    await user_says(zclient, settings, ana_conv, ana, "ana 2")
    await user_says(zclient, settings, bo_conv, bo, "bo 1")
    await user_says(zclient, settings, bo_conv, bo, "bo 2")
    await clock.advance(BACKOFF_SECONDS[0] / 2)

    def texts() -> list[str]:
        return [e["payload"]["message"]["content"]["text"] for e in receiver.events()]

    assert texts() == ["ana 1", "bo 1", "bo 2"]
    await clock.advance(BACKOFF_SECONDS[0] / 2)
    await delivered(emulator)
    assert texts() == ["ana 1", "bo 1", "bo 2", "ana 1", "ana 2"]


async def test_webhook_fault_narrowed_to_an_event_type_spares_other_deliveries(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    armed = await zclient.post(
        "/_sim/faults",
        json={"target": "webhooks", "mode": "drop", "event_type": "conversation:message", "kind": "sunco"},
    )
    assert armed.status_code == 201
    typing = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/activity"),
        json={"type": "typing:start", "author": {"type": "business"}},
    )
    assert typing.status_code == 200
    await delivered(emulator)
    assert [e["type"] for e in receiver.events()] == ["conversation:typing"]  # not the one the fault means

    await user_says(zclient, settings, conv_id, user_id, "lost")
    await user_says(zclient, settings, conv_id, user_id, "kept")
    await delivered(emulator)
    messages = [
        e["payload"]["message"]["content"]["text"] for e in receiver.events() if e["type"] == "conversation:message"
    ]
    assert messages == ["kept"]
