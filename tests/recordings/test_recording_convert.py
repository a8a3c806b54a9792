"""Trace entries -> a recording: steps with their gaps, what each side saw, normalised exchanges; the diff."""

from __future__ import annotations

from typing import Any

from simulator.recordings.compare import compare_exchanges
from simulator.recordings.convert import FaultNote, to_recording
from simulator.trace import TraceEntry

APP = "a" * 24
CONV = "c0ffee" * 4
USER_ID = "beef" * 6
SESSION = "11111111-2222-4333-8444-555555555555"


class Trace:
    """Builds entries the way the real trace fills them in (seq in order)."""

    def __init__(self) -> None:
        self.entries: list[TraceEntry] = []

    def add(self, kind: str, t: float, **fields: Any) -> TraceEntry:
        entry = TraceEntry(
            seq=len(self.entries) + 1, t=t, time="2026-01-01T09:00:00Z", kind=kind, summary=kind, **fields
        )  # type: ignore[arg-type]
        self.entries.append(entry)
        return entry

    def out(self, t: float, event_type: str, payload: dict[str, Any] | None = None, **ids: Any) -> None:
        sequence = None if event_type.endswith("TYPING") else len(self.entries)  # typing is transient
        event = {"id": f"e{len(self.entries)}", "sequence": sequence, "type": f"EVENT_TYPE_{event_type}"}
        event["payload"] = payload or {}
        self.add("widget.out", t, session=SESSION, data={"channel": "webchat", "event": event}, **ids)

    def said(self, t: float, event_type: str, payload: dict[str, Any] | None = None, **ids: Any) -> None:
        event = {"type": f"EVENT_TYPE_{event_type}", "payload": payload or {}}
        self.add("widget.in", t, session=SESSION, data={"channel": "webchat", "event": event}, **ids)

    def call(self, t: float, method: str, path: str, request: Any, status: int | None, response: Any = None) -> None:
        data = {"method": method, "path": f"/v2/apps/{APP}{path}", "request": request, "response": response}
        conversation = CONV if CONV in path else None  # as the relay's client reads it from the path
        self.add("sunco.call", t, status=status, data=data, conversation=conversation)


def a_handoff() -> Trace:
    trace = Trace()
    trace.out(0.0, "SESSION_START")
    trace.said(0.0, "REQUEST_POLY_AGENT_JOIN")
    trace.out(0.0, "POLY_AGENT_MESSAGE", {"text": "Hi"})
    trace.said(5.0, "USER_MESSAGE", {"text": "agent please"})
    trace.out(5.0, "USER_MESSAGE", {"text": "agent please"})
    profile = {"givenName": "Ana", "surname": "Lima", "email": "ana@example.test"}
    user = {"externalId": f"polyai-{SESSION}", "profile": profile}
    trace.call(5.1, "POST", "/users", user, 201, {"user": {"id": USER_ID, **user}})
    body = {"participants": [{"userId": USER_ID}]}
    trace.call(5.1, "POST", "/conversations", body, 201, {"conversation": {"id": CONV, **body}})
    for status in (503, 503, 201):
        body = {"author": {"type": "user", "userId": USER_ID}, "content": {"type": "text", "text": "agent please"}}
        trace.call(5.2, "POST", f"/conversations/{CONV}/messages", body, status)
    trace.call(5.3, "POST", f"/conversations/{CONV}/passControl", {"metadata": {"at": 1767258000}}, 200)
    trace.out(5.3, "HANDOFF_ACCEPTED", conversation=CONV, ticket=1)
    trace.add("relay.state", 5.3, session=SESSION, conversation=CONV, ticket=1, data={"to": "waiting_for_agent"})
    trace.add("agent.action", 65.0, conversation=CONV, ticket=1, data={"action": "accept", "agent": "Sarah"})
    trace.add("agent.action", 65.0, conversation=CONV, ticket=1, data={"action": "status", "status": "open"})
    trace.add("agent.action", 65.0, conversation=CONV, ticket=1, data={"action": "typing", "typing": True})
    trace.out(65.0, "LIVE_AGENT_TYPING", {"state": "TYPING_STATE_STARTED"}, conversation=CONV)
    trace.add("agent.action", 70.0, conversation=CONV, ticket=1, data={"action": "message", "text": "Hello"})
    trace.call(70.0, "POST", f"/conversations/{CONV}/activity", {"type": "conversation:read"}, 200)
    trace.out(70.1, "LIVE_AGENT_MESSAGE", {"text": "Hello", "message_id": "m" * 24}, conversation=CONV)
    return trace


def test_steps_are_the_actions_with_their_gaps_and_what_the_user_saw_between() -> None:
    recording = to_recording(a_handoff().entries, name="flow")
    assert recording["users"] == {"user": {"name": "Ana Lima", "email": "ana@example.test"}}
    transcript = [{"type": "user", "text": "agent please"}]
    assert recording["steps"] == [
        {
            "expect": {"user_sees": [{"type": "SESSION_START"}, {"type": "POLY_AGENT_MESSAGE", "text": "Hi"}]},
            "within": 10.0,
        },
        {"wait": 5.0},
        {"user": "say", "text": "agent please"},
        {"expect": {"user_sees": [{"type": "HANDOFF_ACCEPTED"}], "ticket": {"transcript": transcript}}, "within": 60.0},
        {"wait": 59.7},
        {"agent": "accept", "as": "Sarah"},  # the status change to open that accepting makes is not a step
        {"agent": "type"},
        {"wait": 5.0},
        {"agent": "say", "text": "Hello"},
        {
            "expect": {
                "user_sees": [{"type": "LIVE_AGENT_MESSAGE", "text": "Hello"}],
                "relay_state": "waiting_for_agent",
                "ticket": {"status": "open", "assignee": "Sarah", "transcript": transcript},
            },
            "within": 10.0,
        },
    ]


def test_exchanges_fold_retries_and_leave_out_typing_activity_and_the_bot() -> None:
    exchanges = to_recording(a_handoff().entries, name="flow")["recording"]["exchanges"]
    assert [(e["kind"], e.get("method"), e.get("type")) for e in exchanges] == [
        ("sunco.call", "POST", None),
        ("sunco.call", "POST", None),
        ("sunco.call", "POST", None),
        ("sunco.call", "POST", None),
        ("widget.out", None, "HANDOFF_ACCEPTED"),
        ("widget.out", None, "LIVE_AGENT_MESSAGE"),
    ]
    message = exchanges[2]
    assert message["status"] == 201 and message["attempts"] == 3
    assert message["path"] == "/v2/apps/<id:1>/conversations/<id:4>/messages"
    # the same id is the same placeholder everywhere: the SunCo user made by exchange 2 posts in exchange 3
    assert exchanges[1]["request"]["participants"][0]["userId"] == message["request"]["author"]["userId"]
    assert exchanges[0]["request"]["externalId"] == "<id:2>"
    assert exchanges[3]["request"] == {"metadata": {"at": "<time>"}}
    assert exchanges[5]["payload"]["message_id"].startswith("<id:")


def test_an_sms_user_is_their_phone_and_sees_texts() -> None:
    trace = Trace()
    sms_in = {"type": "SMS", "payload": {"from": "+15550104242", "to": "+15550009999", "body": "agent please"}}
    trace.add("widget.in", 0.0, session="s1", data={"channel": "sms", "event": sms_in})
    trace.add("sms.out", 0.2, session="s1", data={"to": "+15550104242", "body": "Connecting you…", "segments": 1})
    recording = to_recording(trace.entries, name="sms", faults=[FaultNote(0, 0.0, {"target": "sunco", "status": 503})])
    assert recording["users"] == {"user": {"channel": "sms", "phone": "+15550104242"}}
    assert recording["steps"] == [
        {"fault": {"target": "sunco", "status": 503}},
        {"user": "say", "text": "agent please"},
        {"expect": {"user_sees": [{"type": "SMS", "text": "Connecting you…"}]}, "within": 10.0},
    ]
    assert recording["recording"]["exchanges"] == [
        {"n": 1, "user": "user", "kind": "sms.out", "to": "+15550104242", "body": "Connecting you…"}
    ]


def _call(n: int, path: str, request: Any, status: int = 201) -> dict[str, Any]:
    return {
        "n": n,
        "user": "user",
        "kind": "sunco.call",
        "method": "POST",
        "path": path,
        "request": request,
        "status": status,
    }


def test_a_difference_names_the_exchange_the_field_and_both_values() -> None:
    expected = [_call(1, "/c/<id:1>/messages", {"content": {"text": "Hi"}, "author": {"userId": "<id:2>"}})]
    actual = [_call(1, "/c/<id:7>/messages", {"content": {"text": "Hi!"}, "author": {"userId": "<id:9>"}})]
    assert compare_exchanges(expected, actual) == [
        "exchange 1, POST .../messages: content.text expected 'Hi' got 'Hi!'"
    ]


def test_placeholders_pair_one_to_one() -> None:
    expected = [_call(1, "/c/<id:1>/messages", {"a": "<id:1>"}), _call(2, "/c/<id:1>/messages", {"a": "<id:1>"})]
    same = [_call(1, "/c/<id:5>/messages", {"a": "<id:5>"}), _call(2, "/c/<id:5>/messages", {"a": "<id:5>"})]
    assert compare_exchanges(expected, same) == []
    other = [_call(1, "/c/<id:5>/messages", {"a": "<id:5>"}), _call(2, "/c/<id:6>/messages", {"a": "<id:5>"})]
    assert compare_exchanges(expected, other) == [
        "exchange 2, POST .../messages: path expected '/c/<id:1>/messages' got '/c/<id:6>/messages'"
    ]


def test_missing_and_unexpected_exchanges_are_named() -> None:
    expected = [_call(1, "/users", {}), _call(2, "/conversations", {}), _call(3, "/passControl", {}, 200)]
    actual = [_call(1, "/users", {}), _call(2, "/passControl", {}, 200), _call(3, "/releaseControl", {}, 200)]
    assert compare_exchanges(expected, actual) == [
        "exchange 2, POST .../conversations: missing (the replay's relay did not do it)",
        "after exchange 3: unexpected POST .../releaseControl {}",
    ]
