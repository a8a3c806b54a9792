"""The emulator's quick "is this body valid?" (jsonschema-rs) never disagrees with the Python
validator that words SunCo's 400s: a body one accepts, the other accepts too."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from simulator.zendesk import spec

VALID: dict[str, list[dict[str, Any]]] = {
    "PostMessageRequest": [
        {"author": {"type": "user", "userId": "u1"}, "content": {"type": "text", "text": "hi"}},
        {
            "author": {"type": "business", "displayName": "Sam", "avatarUrl": "https://example.test/a.png"},
            "content": {"type": "image", "mediaUrl": "https://example.test/cat.png", "altText": "a cat"},
            "metadata": {"polyai_relay": "1", "n": 3},
        },
        {
            "author": {"type": "business"},
            "content": {
                "type": "text",
                "text": "choose",
                "actions": [{"type": "link", "text": "docs", "uri": "https://example.test/docs"}],
            },
        },
        {"author": {"type": "user", "userId": "u1"}, "content": {"type": "file", "mediaUrl": "https://x.test/f.pdf"}},
        {
            "author": {"type": "business"},
            "content": {"type": "location", "coordinates": {"lat": 45.5, "long": -73.6}},
        },
    ],
    "CreateUserRequest": [
        {"externalId": "cust-1", "profile": {"givenName": "Ana", "email": "ana@example.test"}},
        {"externalId": "cust-2"},
    ],
    "CreateConversationRequest": [
        {"type": "personal", "participants": [{"userId": "u1", "subscribeSDKClient": False}]},
    ],
    "PassControlRequest": [{"switchboardIntegration": "zd-agentWorkspace", "metadata": {"first_message_id": "m1"}}],
    "PostActivityRequest": [{"type": "conversation:read", "author": {"type": "user", "userId": "u1"}}],
    "CreateWebhookRequest": [{"target": "https://relay.example.test/events", "triggers": ["conversation:message"]}],
}

ODD_VALUES: list[Any] = [
    None,
    "",
    "x",
    "not a uri",
    "a@b",
    "ana@example.test",
    0,
    -1,
    1.5,
    True,
    [],
    {},
    ["x"],
    {"a": 1},
]


def _mutations(body: Any, rng: random.Random) -> list[Any]:
    """Copies of `body` with one field dropped, or one value replaced by something odd."""
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in items:
            paths.append((node, key))
            walk(child)

    out: list[Any] = []
    for index in range(len(_collect(body))):
        for _ in range(3):
            copied = copy.deepcopy(body)
            paths.clear()
            walk(copied)
            parent, key = paths[index]
            if isinstance(parent, dict) and rng.random() < 0.3:
                del parent[key]
            else:
                parent[key] = rng.choice(ODD_VALUES)
            out.append(copied)
    return out


def _collect(body: Any) -> list[Any]:
    found: list[Any] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in items:
            found.append(key)
            walk(child)

    walk(body)
    return found


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_fast_check_agrees_with_the_worded_one(name: str) -> None:
    fast = spec._fast_validator(name)
    assert fast is not None, f"jsonschema-rs could not compile {name}"
    rng = random.Random(name)
    checked = 0
    for body in VALID[name]:
        assert spec._validator(name).is_valid(body), body
        for candidate in [body, *_mutations(body, rng), "text", 3, None, []]:
            assert fast.is_valid(candidate) == spec._validator(name).is_valid(candidate), candidate
            checked += 1
    assert checked > 10


def test_an_invalid_body_still_gets_the_worded_error() -> None:
    body = {"author": {"type": "user", "userId": "u1"}, "content": {"type": "image"}}
    assert spec.errors("PostMessageRequest", body)[0] == "content.mediaUrl: Field required"
    assert spec.errors("PostMessageRequest", VALID["PostMessageRequest"][0]) == []
