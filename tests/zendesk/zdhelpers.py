"""Helpers for the Zendesk emulator tests: a webhook receiver that checks schemas, and API shortcuts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from simulator.clock import settle
from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SUNCO_SCHEMA = json.loads((SCHEMAS / "sunco-webhook.schema.json").read_text())
STATUS_SCHEMA = json.loads((SCHEMAS / "zendesk-status-webhook.schema.json").read_text())


class Receiver:
    """Stands in for the relay: records every webhook request and checks its body against our schemas.

    `answers` lists what to answer, in order (then 200): a status code, or an exception to raise
    (as an in-process target crashing would).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.requests: list[httpx.Request] = []
        self.answers: list[int | Exception] = []
        self.schema_errors: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        schema = STATUS_SCHEMA if request.url.path == self.settings.status_webhook_path else SUNCO_SCHEMA
        for error in jsonschema.Draft202012Validator(schema).iter_errors(body):
            self.schema_errors.append(f"{request.url.path}: {error.message} at {list(error.absolute_path)}")
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, json={})

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """SunCo events received (in arrival order), optionally of one type."""
        found = []
        for request in self.requests:
            if request.url.path != self.settings.events_webhook_path:
                continue
            for event in json.loads(request.content)["events"]:
                if event_type is None or event["type"] == event_type:
                    found.append(event)
        return found

    def status_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == self.settings.status_webhook_path]


def app_path(settings: Settings, rest: str = "") -> str:
    return f"/sc/v2/apps/{settings.zendesk_app_id}{rest}"


def zendesk_auth(settings: Settings) -> tuple[str, str]:
    """Zendesk API token auth for httpx: `<email>/token` + the API token."""
    return ("agent@example.test/token", settings.zendesk_api_token.get_secret_value())


async def delivered(emulator: ZendeskEmulator) -> None:
    """Let background deliveries finish (none of them is sleeping on the clock)."""
    await settle()
    assert await emulator.wait_for_deliveries(), "deliveries still pending"


async def make_conversation(client: httpx.AsyncClient, settings: Settings, name: str = "Ana") -> tuple[str, str]:
    """A user and their personal conversation; returns (user id, conversation id)."""
    user = await client.post(
        app_path(settings, "/users"),
        json={"externalId": f"ext-{name}", "profile": {"givenName": name, "surname": "Lopez", "email": "a@x.test"}},
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["user"]["id"]
    conv = await client.post(
        app_path(settings, "/conversations"), json={"type": "personal", "participants": [{"userId": user_id}]}
    )
    assert conv.status_code == 201, conv.text
    return user_id, conv.json()["conversation"]["id"]


async def user_says(client: httpx.AsyncClient, settings: Settings, conv_id: str, user_id: str, text: str) -> str:
    response = await client.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": {"type": "user", "userId": user_id}, "content": {"type": "text", "text": text}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["messages"][0]["id"])
