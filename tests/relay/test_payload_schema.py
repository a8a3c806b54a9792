"""schemas/handoff-payload.schema.json and the relay's payload model accept and reject the same payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from simulator.relay.payload import InvalidHandoffPayload, parse_handoff_payload

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "handoff-payload.schema.json").read_text())


def handoff(hints: Any, key: str = "zendesk_integration") -> dict[str, Any]:
    return {"utterance": "One moment.", "handoff": {"text_chat": {key: hints}}}


VALID = [
    handoff({}),
    handoff(None),
    handoff({"group_id": 360001, "priority": "high", "tags": "vip, priority", "ticket_fields": {"360042": "gold"}}),
    handoff({"tags": ["a", "b-c"], "subject": "Refund", "assignee_id": "42"}),
    handoff({"department": "billing"}),  # unknown hints are ignored, not rejected
]
INVALID = [
    handoff({}, key="salesforce_integration"),
    {"utterance": "x"},
    {"handoff": {"text_chat": {"zendesk_integration": {}}}},
    {"utterance": 3, "handoff": {"text_chat": {"zendesk_integration": {}}}},
    handoff({"priority": "whenever"}),
    handoff({"tags": ["not a tag!"]}),
    handoff("billing"),
    {"utterance": "x", "handoff": {"text_chat": {"zendesk_integration": {}, "nice_integration": {}}}},
]


@pytest.mark.parametrize("payload", VALID)
def test_valid_payloads_pass_both(payload: dict[str, Any]) -> None:
    jsonschema.validate(payload, SCHEMA)
    parse_handoff_payload(payload)


@pytest.mark.parametrize("payload", INVALID)
def test_invalid_payloads_fail_both(payload: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, SCHEMA)
    with pytest.raises(InvalidHandoffPayload):
        parse_handoff_payload(payload)
