"""The SMS emulator: inbound webhook, bot answers and handoff notices in the outbox, segmenting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simulator.clock import VirtualClock
from simulator.relay.chat import HandoffRequest
from simulator.widget import WidgetServer, sms_signature
from simulator.widget.dialog import HANDOFF_FAILED_TEXT

from .conftest import FakeRelay, settle

PHONE = "+15550100001"
SERVICE = "+15550009999"


async def text(http: httpx.AsyncClient, clock: VirtualClock, body: str, phone: str = PHONE) -> None:
    response = await http.post("/sms/inbound", data={"From": phone, "To": SERVICE, "Body": body})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response>" in response.text
    await settle(clock)


async def outbox(http: httpx.AsyncClient, phone: str | None = PHONE) -> list[dict[str, Any]]:
    response = await http.get("/_sim/sms/outbox", params={"to": phone} if phone else {})
    assert response.status_code == 200
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def bodies(http: httpx.AsyncClient, phone: str = PHONE) -> list[str]:
    return [m["body"] for m in await outbox(http, phone)]


async def test_sms_round_trip_with_handoff(
    http: httpx.AsyncClient, clock: VirtualClock, relay: FakeRelay, widget: WidgetServer
) -> None:
    await text(http, clock, "hi there")
    [greeting] = await outbox(http)
    assert greeting["body"].startswith("Hi! I'm the Demo assistant")
    assert greeting["to"] == PHONE and greeting["from"] == SERVICE
    assert greeting["encoding"] == "GSM-7" and greeting["segments"] == [greeting["body"]]
    assert greeting["sent_at"].endswith("Z")

    await text(http, clock, "When are you open?")
    assert (await bodies(http))[-1] == "We're open 9am to 5pm, Monday to Friday."

    await text(http, clock, "Can I talk to a human please")
    assert (await bodies(http))[-2:] == [
        "No problem, I'll transfer you to one of our agents now.",
        "Connecting you to an agent…",
    ]
    [request] = relay.named("start_handoff")
    assert isinstance(request, HandoffRequest)
    assert request.channel == "sms" and request.user.phone == PHONE and request.user.name
    assert request.user.external_id == f"polyai-{request.session_id}"
    assert [t.text for t in request.transcript][:2] == ["hi there", greeting["body"]]
    session = widget.store.get(request.session_id)
    assert session is not None and session.conv.caller_number == PHONE and session.conv.channel_type == "sms"

    sid = request.session_id
    await relay.push(sid, "LIVE_AGENT_JOINED", {"agent": {"id": "a1", "name": "Sarah", "avatar_url": ""}})
    await relay.push(sid, "LIVE_AGENT_TYPING", {"state": "TYPING_STATE_STARTED", "agent_id": "a1"}, transient=True)
    long_reply = "I'm sorry to hear that. " * 8  # 192 GSM-7 characters
    await relay.push(sid, "LIVE_AGENT_MESSAGE", {"message_id": "m1", "agent_id": "a1", "text": long_reply})
    messages = await outbox(http)
    assert [m["body"] for m in messages[-2:]] == ["Sarah has joined", long_reply]
    assert messages[-1]["segment_count"] == 2 and [len(s) for s in messages[-1]["segments"]] == [153, 39]

    assert messages[-1]["encoding"] == "GSM-7"
    connecting = [m for m in await outbox(http) if m["body"] == "Connecting you to an agent…"][0]
    assert connecting["encoding"] == "UCS-2" and connecting["segment_count"] == 1  # "…" is not GSM-7
    await relay.push(sid, "LIVE_AGENT_MESSAGE", {"message_id": "m2", "agent_id": "a1", "text": "📦" * 40})
    emoji = (await outbox(http))[-1]
    assert emoji["encoding"] == "UCS-2" and [len(s) for s in emoji["segments"]] == [33, 7]  # 66 + 14 UTF-16 units

    await text(http, clock, "thanks 😀")
    assert relay.named("user_message")[-1][:2] == (sid, "thanks 😀")
    assert (await bodies(http))[-1] == "📦" * 40  # the bot stays silent

    await relay.push(sid, "LIVE_AGENT_LEFT")
    await relay.push(sid, "SESSION_END", {"reason": "REASON_NATURAL_END"})
    assert (await bodies(http))[-2:] == [
        "The agent has left the chat",
        "This conversation has ended. Text us again any time.",
    ]

    # The next text starts a new session on the same number.
    await text(http, clock, "returns?")
    new = widget.store.for_phone(PHONE)
    assert new is not None and new.id != sid
    assert (await bodies(http))[-2:][1].startswith("You can return anything within 30 days")


async def test_handoff_failure_and_timeout_notices(
    http: httpx.AsyncClient, clock: VirtualClock, relay: FakeRelay
) -> None:
    relay.accept = False
    await text(http, clock, "representative")
    [request] = relay.named("start_handoff")
    await relay.push(request.session_id, "HANDOFF_FAILED")
    await relay.push(
        request.session_id,
        "SYSTEM_MESSAGE",
        {
            "level": "SYSTEM_MESSAGE_LEVEL_ERROR",
            "message": "Sorry, we could not connect you to an agent. Please try again.",
        },
    )
    assert (await bodies(http))[-1] == "Sorry, we could not connect you to an agent. Please try again."
    assert (await bodies(http)).count("Sorry, we could not connect you to an agent. Please try again.") == 1
    await text(http, clock, "agent please")
    await relay.push(relay.named("start_handoff")[-1].session_id, "HANDOFF_TIMEOUT")
    assert (await bodies(http))[-1] == "Sorry, no agent is available right now. Please try again later."


async def test_outbox_filters_by_number_and_stop_ends_the_session(
    http: httpx.AsyncClient, clock: VirtualClock, relay: FakeRelay, widget: WidgetServer
) -> None:
    await text(http, clock, "hello", phone="+15550100002")
    await text(http, clock, "delivery", phone="+15550100003")
    assert len(await outbox(http, None)) >= 2
    assert all(m["to"] == "+15550100002" for m in await outbox(http, "+15550100002"))
    assert "ship within" in (await bodies(http, "+15550100003"))[-1]
    session = widget.store.for_phone("+15550100003")
    assert session is not None
    await text(http, clock, "agent please", phone="+15550100003")
    await text(http, clock, "STOP", phone="+15550100003")
    assert session.ended and session.end_reason == "REASON_USER_END"
    assert relay.named("user_ended") == [session.id]
    assert widget.store.for_phone("+15550100003") is None


async def test_inbound_without_from_or_body_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/sms/inbound", data={"To": SERVICE, "Body": "hi"})
    assert response.status_code == 400 and "error" in response.json()


async def test_reset_forgets_sessions_and_outbox(
    http: httpx.AsyncClient, clock: VirtualClock, widget: WidgetServer
) -> None:
    await text(http, clock, "hello")
    await widget.reset()
    assert await outbox(http, None) == []
    assert widget.store.all() == []
    await text(http, clock, "hello")  # still works after a reset
    assert len(await outbox(http)) == 1


async def test_the_same_text_twice_is_sent_twice(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    # Two messages the bot can't answer get the fallback twice: each is a real text to the phone.
    await text(http, clock, "hello")
    await text(http, clock, "qwerty")
    await text(http, clock, "asdfgh")
    sent = await bodies(http)
    assert len(sent) == 3 and sent[1] == sent[2] and sent[1].startswith("Sorry, I didn't catch that"), sent


async def test_handoff_failure_notice_is_not_doubled_by_its_system_message(
    http: httpx.AsyncClient, clock: VirtualClock, relay: FakeRelay, widget: WidgetServer
) -> None:
    await text(http, clock, "hello")
    session = widget.store.for_phone(PHONE)
    assert session is not None
    await relay.push(session.id, "HANDOFF_FAILED")
    await relay.push(
        session.id, "SYSTEM_MESSAGE", {"level": "SYSTEM_MESSAGE_LEVEL_ERROR", "message": HANDOFF_FAILED_TEXT}
    )
    await settle(clock)
    assert (await bodies(http)).count(HANDOFF_FAILED_TEXT) == 1


async def test_outbox_filter_with_an_unencoded_plus(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    # `curl '.../_sim/sms/outbox?to=+15550100001'`: in a query string the `+` arrives as a space.
    await text(http, clock, "hello")
    response = await http.get(f"/_sim/sms/outbox?to={PHONE}")
    assert [m["to"] for m in response.json()["messages"]] == [PHONE]


async def test_after_stop_or_a_natural_end_the_next_text_opens_a_new_session(
    http: httpx.AsyncClient, clock: VirtualClock, relay: FakeRelay, widget: WidgetServer
) -> None:
    await text(http, clock, "stop")  # no session yet: nothing happens, nothing is sent
    assert widget.store.all() == [] and await outbox(http) == []
    await text(http, clock, "hello")
    first = widget.store.for_phone(PHONE)
    assert first is not None
    await text(http, clock, "Stop")
    assert first.ended and widget.store.for_phone(PHONE) is None
    sent = len(await outbox(http))
    await text(http, clock, "hello again")
    second = widget.store.for_phone(PHONE)
    assert second is not None and second.id != first.id
    assert len(await outbox(http)) == sent + 1  # the greeting, once
    await relay.push(second.id, "SESSION_END", {"reason": "REASON_NATURAL_END"})
    await settle(clock)
    assert (await bodies(http))[-1] == "This conversation has ended. Text us again any time."
    await text(http, clock, "one more thing")
    third = widget.store.for_phone(PHONE)
    assert third is not None and third.id not in (first.id, second.id)


async def test_a_live_agent_repeating_the_bot_is_still_sent(
    http: httpx.AsyncClient, clock: VirtualClock, relay: FakeRelay, widget: WidgetServer
) -> None:
    await text(http, clock, "hello")
    session = widget.store.for_phone(PHONE)
    assert session is not None
    greeting = (await bodies(http))[-1]
    await relay.push(session.id, "LIVE_AGENT_MESSAGE", {"text": greeting, "agent_id": "1"})
    await settle(clock)
    assert (await bodies(http))[-2:] == [greeting, greeting]


def test_the_signature_is_the_providers() -> None:
    # The example from the provider's own documentation of its request signing.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sms_signature.signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert sms_signature.valid("12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url, b"", params.items())
    # A proxy that adds the default port does not break it; another token or field does.
    assert sms_signature.valid(
        "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url.replace(".com/", ".com:443/"), b"", params.items()
    )
    assert not sms_signature.valid("54321", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url, b"", params.items())
    assert not sms_signature.valid("12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url, b"", [*params.items(), ("Body", "x")])


async def test_an_unsigned_or_forged_text_is_refused_and_opens_nothing(
    http: httpx.AsyncClient, widget: WidgetServer, caplog: pytest.LogCaptureFixture
) -> None:
    form = {"From": PHONE, "To": SERVICE, "Body": "talk to a human"}
    token = widget.settings.sms_auth_token.get_secret_value()
    forged = sms_signature.ProviderSigning("not-the-auth-token")
    unsigned = await http.post("/sms/inbound", data=form, auth=None)
    wrong = await http.post("/sms/inbound", data=form, auth=forged)
    # Signed for one text, then altered on the way.
    signed = http.build_request("POST", "/sms/inbound", data=form)
    tampered = {**form, "From": "+15550100666"}
    header = sms_signature.signature(token, str(signed.url), form.items())
    altered = await http.post("/sms/inbound", data=tampered, headers={sms_signature.HEADER: header}, auth=None)
    # JSON is signed through the URL's bodySHA256: a body that doesn't match it is refused.
    body = b'{"From": "+15550100001", "Body": "hi"}'
    url = sms_signature.signed_json_url(str(signed.url), body)
    json_headers = {sms_signature.HEADER: sms_signature.signature(token, url), "Content-Type": "application/json"}
    swapped = await http.post(url, content=body.replace(b"hi", b"yo"), headers=json_headers, auth=None)
    for response in (unsigned, wrong, altered, swapped):
        assert response.status_code == 403, response.text
        assert response.json() == {"error": "X-Twilio-Signature is missing or does not match"}
    assert widget.store.for_phone(PHONE) is None and widget.store.for_phone("+15550100666") is None
    assert await outbox(http, None) == []
    assert token not in caplog.text
    # The same JSON, unaltered, is taken.
    taken = await http.post(url, content=body, headers=json_headers, auth=None)
    assert taken.status_code == 200 and widget.store.for_phone(PHONE) is not None
