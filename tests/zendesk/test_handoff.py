"""Handoff to the agent workspace: ticket from passControl metadata, agent actions, status webhook, handback."""

from __future__ import annotations

import json

import httpx
from zdhelpers import Receiver, app_path, delivered, make_conversation, user_says, zendesk_auth

from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator
from simulator.zendesk.status_webhook import zendesk_signature


async def hand_off(client: httpx.AsyncClient, settings: Settings) -> tuple[str, str, list[str]]:
    """A conversation with 12 messages, handed to the agent workspace from the 3rd; returns ids."""
    user_id, conv_id = await make_conversation(client, settings)
    ids = [await user_says(client, settings, conv_id, user_id, f"line {i}") for i in range(12)]
    response = await client.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"),
        json={
            "switchboardIntegration": "zd-agentWorkspace",
            "metadata": {
                "first_message_id": ids[2],
                "dataCapture.systemField.requester.name": "Ana Lopez",
                "dataCapture.systemField.requester.email": "ana@example.test",
                "dataCapture.systemField.tags": "Escalated_From_Bot, vip  polyai",
                "dataCapture.ticketField.360042014871": "ORDER-5521",
            },
        },
    )
    assert response.status_code == 200 and response.json() == {}
    return user_id, conv_id, ids


async def test_pass_control_creates_ticket_from_metadata(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    _, conv_id, ids = await hand_off(zclient, settings)
    await delivered(emulator)
    passed = receiver.events("switchboard:passControl")[0]["payload"]
    assert passed["conversation"]["activeSwitchboardIntegration"]["name"] == "zd-agentWorkspace"
    assert passed["metadata"]["first_message_id"] == ids[2]

    tickets = (await zclient.get("/_sim/agent/tickets")).json()["tickets"]
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket["id"] == 1 and ticket["status"] == "new" and ticket["assignee"] is None
    assert ticket["conversation_id"] == conv_id
    assert ticket["requester"] == {"name": "Ana Lopez", "email": "ana@example.test"}
    assert ticket["subject"] == "Conversation with Ana Lopez"
    assert ticket["tags"] == ["escalated_from_bot", "vip", "polyai"]
    assert ticket["custom_fields"] == [{"id": 360042014871, "value": "ORDER-5521"}]
    assert ticket["metadata"]["dataCapture.systemField.tags"] == "Escalated_From_Bot, vip  polyai"
    assert [line["id"] for line in ticket["transcript"]] == ids[2:]
    assert ticket["transcript"][0] == {
        "id": ids[2],
        "author_type": "user",
        "author_name": "Ana Lopez",
        "text": "line 2",
        "received": ticket["transcript"][0]["received"],
        "source_type": "api:conversations",
    }
    assert (await zclient.get("/_sim/agent/tickets/1")).json() == ticket
    missing = await zclient.get("/_sim/agent/tickets/99")
    assert missing.status_code == 404 and "error" in missing.json()


async def test_default_transcript_is_the_last_ten_messages(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    ids = [await user_says(zclient, settings, conv_id, user_id, f"line {i}") for i in range(12)]
    await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"), json={"switchboardIntegration": "next"}
    )
    ticket = (await zclient.get("/_sim/agent/tickets/1")).json()
    assert [line["id"] for line in ticket["transcript"]] == ids[-10:]
    assert ticket["requester"]["name"] == "Ana Lopez"  # from the user's profile


async def test_agent_accepts_types_and_replies(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    user_id, conv_id, _ = await hand_off(zclient, settings)
    early = await zclient.post("/_sim/agent/tickets/1/messages", json={"text": "too soon"})
    assert early.status_code == 409 and early.json() == {"error": "accept the ticket first"}
    bad = await zclient.post("/_sim/agent/tickets/1/accept", json={})
    assert bad.status_code == 400 and bad.json()["error"].startswith("agent_name")
    accepted = await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    assert accepted.json()["status"] == "open" and accepted.json()["assignee"] == "Sarah"
    assert (await zclient.post("/_sim/agent/tickets/1/typing", json={"state": "start"})).status_code == 200
    sent = await zclient.post("/_sim/agent/tickets/1/messages", json={"text": "Hi, I'm Sarah"})
    assert sent.status_code == 201
    await user_says(zclient, settings, conv_id, user_id, "thanks")
    await delivered(emulator)

    typing = receiver.events("conversation:typing")[-1]["payload"]["activity"]
    assert typing["type"] == "typing:start"
    assert typing["author"]["type"] == "business" and typing["author"]["displayName"] == "Sarah"
    assert typing["source"]["type"] == "zd:agentWorkspace"
    agent = receiver.events("conversation:message")[-2]["payload"]["message"]
    assert agent["content"]["text"] == "Hi, I'm Sarah"
    assert agent["author"]["type"] == "business" and agent["author"]["displayName"] == "Sarah"
    assert agent["author"]["avatarUrl"].startswith("https://")
    assert agent["source"] == {"type": "zd:agentWorkspace"}
    assert agent["metadata"]["__zendesk_msg.agent.id"].isdigit()
    transcript = (await zclient.get("/_sim/agent/tickets/1")).json()["transcript"]
    assert [(t["author_type"], t["text"]) for t in transcript[-2:]] == [
        ("business", "Hi, I'm Sarah"),
        ("user", "thanks"),
    ]
    # accepting fired NEW -> OPEN on the status webhook
    status = json.loads(receiver.status_requests()[0].content)
    assert status["event"] == {**status["event"], "current": "OPEN", "previous": "NEW"}


async def test_status_change_fires_signed_webhook_and_close_hands_back(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    _, conv_id, _ = await hand_off(zclient, settings)
    await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    auth = zendesk_auth(settings)
    solved = await zclient.put("/api/v2/tickets/1.json", auth=auth, json={"ticket": {"status": "solved"}})
    assert solved.status_code == 200 and solved.json()["ticket"]["status"] == "solved"
    await delivered(emulator)
    request = receiver.status_requests()[-1]
    assert str(request.url) == settings.relay_url + settings.status_webhook_path
    body = json.loads(request.content)
    assert body["type"] == "zen:event-type:ticket.status_changed"
    assert body["subject"] == "zen:ticket:1" and body["account_id"] == settings.zendesk_account_id
    assert body["zendesk_event_version"] == "2022-11-06"
    assert body["event"]["current"] == "SOLVED" and body["event"]["previous"] == "OPEN"
    assert body["detail"]["id"] == "1" and body["detail"]["status"] == "SOLVED"
    assert body["detail"]["tags"] == ["escalated_from_bot", "vip", "polyai"]
    headers = request.headers
    assert headers[settings.zendesk_webhook_auth_header] == settings.zendesk_webhook_secret_key.get_secret_value()
    assert headers["x-zendesk-account-id"] == str(settings.zendesk_account_id)
    assert headers["x-zendesk-webhook-id"] and headers["x-zendesk-webhook-invocation-id"]
    timestamp = headers["x-zendesk-webhook-signature-timestamp"]
    assert timestamp == "2026-01-01T09:00:00Z"
    secret = settings.zendesk_webhook_signing_secret.get_secret_value()
    assert headers["x-zendesk-webhook-signature"] == zendesk_signature(secret, timestamp, request.content)
    # Solved isn't the end: the agent workspace keeps control until the ticket is closed.
    conversation = (await zclient.get(app_path(settings, f"/conversations/{conv_id}"))).json()["conversation"]
    assert conversation["activeSwitchboardIntegration"]["name"] == "zd-agentWorkspace"

    closed = await zclient.post("/_sim/agent/tickets/1/status", json={"status": "closed"})
    assert closed.status_code == 200
    await delivered(emulator)
    back = receiver.events("switchboard:passControl")[-1]["payload"]
    assert back["reason"] == "ticketClosed"
    assert back["conversation"]["activeSwitchboardIntegration"]["name"] == "polyai"
    assert json.loads(receiver.status_requests()[-1].content)["event"]["current"] == "CLOSED"
    assert [e["kind"] for e in (await zclient.get("/_sim/deliveries", params={"kind": "zendesk_status"})).json()] == [
        "zendesk_status"
    ] * 3
    again = await zclient.post("/_sim/agent/tickets/1/messages", json={"text": "hello?"})
    assert again.status_code == 409
    bad = await zclient.post("/_sim/agent/tickets/1/status", json={"status": "done"})
    assert bad.status_code in (400, 409)


async def test_support_api_tickets(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    _, conv_id, _ = await hand_off(zclient, settings)
    auth = zendesk_auth(settings)
    denied = await zclient.get("/api/v2/tickets.json", auth=("x", "y"))
    assert denied.status_code == 401 and denied.json() == {"error": "Couldn't authenticate you"}
    listed = (await zclient.get("/api/v2/tickets.json", auth=auth)).json()
    assert [t["id"] for t in listed["tickets"]] == [1]
    missing = await zclient.get("/api/v2/tickets/7.json", auth=auth)
    assert missing.status_code == 404 and missing.json() == {"error": "RecordNotFound", "description": "Not found"}
    invalid = await zclient.put("/api/v2/tickets/1.json", auth=auth, json={"ticket": {"status": "finished"}})
    assert invalid.status_code == 422 and invalid.json()["error"] == "RecordInvalid"
    assert "status" in invalid.json()["details"]
    updated = await zclient.put(
        "/api/v2/tickets/1.json",
        auth=auth,
        json={"ticket": {"tags": ["A", "b"], "comment": {"body": "On it!", "public": True}}},
    )
    assert updated.status_code == 200
    assert updated.json()["ticket"]["tags"] == ["a", "b"] and "audit" in updated.json()
    await delivered(emulator)
    reply = receiver.events("conversation:message")[-1]["payload"]["message"]
    assert reply["content"]["text"] == "On it!" and reply["source"]["type"] == "zd:agentWorkspace"
    await zclient.put("/api/v2/tickets/1.json", auth=auth, json={"ticket": {"status": "closed"}})
    closed = await zclient.put("/api/v2/tickets/1.json", auth=auth, json={"ticket": {"status": "open"}})
    assert closed.status_code == 422


async def test_same_status_fires_nothing_and_an_invalid_status_is_422_on_both_routes(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    await hand_off(zclient, settings)
    await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    await delivered(emulator)
    fired = len(receiver.status_requests())
    assert fired == 1  # new -> open
    auth = zendesk_auth(settings)
    same = await zclient.put("/api/v2/tickets/1.json", auth=auth, json={"ticket": {"status": "open"}})
    assert same.status_code == 200
    assert (await zclient.post("/_sim/agent/tickets/1/status", json={"status": "open"})).status_code == 200
    await delivered(emulator)
    assert len(receiver.status_requests()) == fired
    bad_api = await zclient.put("/api/v2/tickets/1.json", auth=auth, json={"ticket": {"status": "done"}})
    assert bad_api.status_code == 422 and bad_api.json()["error"] == "RecordInvalid"
    bad_plane = await zclient.post("/_sim/agent/tickets/1/status", json={"status": "done"})
    assert bad_plane.status_code == 422 and "status" in bad_plane.json()["error"]
    await delivered(emulator)
    assert len(receiver.status_requests()) == fired
    assert emulator.workspace.tickets[1].status == "open"


async def test_routing_hints_in_system_fields_reach_the_ticket(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    # What the relay sends for {"group_id": 360001, "priority": "high", "subject": ..., ...} hints.
    user_id, conv_id = await make_conversation(zclient, settings)
    await user_says(zclient, settings, conv_id, user_id, "my order is late")
    response = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"),
        json={
            "switchboardIntegration": "zd-agentWorkspace",
            "metadata": {
                "dataCapture.systemField.group_id": 360001,
                "dataCapture.systemField.brand_id": "9477922990333",
                "dataCapture.systemField.organization_id": 42,
                "dataCapture.systemField.priority": "HIGH",
                "dataCapture.systemField.subject": "Late order",
                "dataCapture.systemField.description": "Order 5521 is late",
            },
        },
    )
    assert response.status_code == 200
    ticket = (await zclient.get("/api/v2/tickets/1.json", auth=zendesk_auth(settings))).json()["ticket"]
    assert (ticket["group_id"], ticket["brand_id"], ticket["organization_id"]) == (360001, 9477922990333, 42)
    assert (ticket["priority"], ticket["subject"], ticket["description"]) == (
        "high",
        "Late order",
        "Order 5521 is late",
    )
    await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    await delivered(emulator)
    detail = json.loads(receiver.status_requests()[-1].content)["detail"]
    assert (detail["group_id"], detail["brand_id"], detail["organization_id"]) == ("360001", "9477922990333", "42")
    assert (detail["priority"], detail["subject"]) == ("HIGH", "Late order")
    control = (await zclient.get("/_sim/agent/tickets/1")).json()
    assert control["subject"] == "Late order" and control["group_id"] == 360001 and control["priority"] == "high"
