"""Validating the bot's handoff payload and mapping routing hints to passControl metadata."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.relay.payload import InvalidHandoffPayload, parse_handoff_payload, routing_metadata


def zendesk(hints: Any) -> dict[str, Any]:
    return {"utterance": "One moment", "handoff": {"text_chat": {"zendesk_integration": hints}}}


def test_routing_hints_map_to_data_capture_keys() -> None:
    payload = parse_handoff_payload(
        zendesk(
            {
                "group_id": 123,
                "priority": "high",
                "subject": "Refund",
                "tags": "vip, refund",
                "ticket_fields": {"360001": "x", "360002": 5},
                "queue": "billing",
            }
        )
    )
    assert payload.utterance == "One moment"
    assert routing_metadata(payload.routing) == {
        "dataCapture.systemField.group_id": 123,
        "dataCapture.systemField.priority": "high",
        "dataCapture.systemField.subject": "Refund",
        "dataCapture.ticketField.360001": "x",
        "dataCapture.ticketField.360002": 5,
    }
    assert payload.routing.tags == ["vip", "refund"]
    assert payload.routing.ignored_hints() == ["queue"]


def test_empty_hints_are_fine() -> None:
    assert routing_metadata(parse_handoff_payload(zendesk({})).routing) == {}
    assert routing_metadata(parse_handoff_payload(zendesk(None)).routing) == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"utterance": "x", "handoff": {"text_chat": {"salesforce_integration": {}}}},
            "handoff.text_chat: expected 'zendesk_integration', got 'salesforce_integration'",
        ),
        (
            {"utterance": "x", "handoff": {"text_chat": {"zendesk_integration": {}, "nice_integration": {}}}},
            "handoff.text_chat: expected only 'zendesk_integration', also got 'nice_integration'",
        ),
        (
            {"utterance": "x", "handoff": {"text_chat": {}}},
            "handoff.text_chat: expected 'zendesk_integration', got nothing",
        ),
        ({"utterance": "x", "handoff": {"voice": {}}}, "handoff.text_chat: Field required"),
        ({"handoff": {"text_chat": {"zendesk_integration": {}}}}, "utterance: Field required"),
        ([1, 2], "body: Input should be a valid dictionary"),
        (zendesk("queue-1"), "handoff.text_chat.zendesk_integration: expected an object of routing hints"),
        (zendesk({"priority": "asap"}), "handoff.text_chat.zendesk_integration.priority: Input should be"),
        (zendesk({"tags": ["ok", "not ok!"]}), "handoff.text_chat.zendesk_integration.tags: Value error"),
        (zendesk({"ticket_fields": {"1": [1]}}), "handoff.text_chat.zendesk_integration.ticket_fields.1"),
    ],
)
def test_bad_payloads_name_the_problem(raw: Any, message: str) -> None:
    with pytest.raises(InvalidHandoffPayload) as caught:
        parse_handoff_payload(raw)
    assert str(caught.value).startswith(message), str(caught.value)
