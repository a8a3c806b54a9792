"""Commits that look only at what was noted still write everything that changed, and an emulator killed
without a clean stop (kill -9) comes back with every message it acknowledged and every webhook it
still owed."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulator.clock import VirtualClock
from simulator.config import Settings, load_settings
from simulator.durable import DB_FILE, StateDB, durable
from simulator.zendesk import ZendeskEmulator
from simulator.zendesk.emulator import FINISHED_DELIVERY_COMMIT_SECONDS
from simulator.zendesk.models import ConversationCreateBody, Switchboard, User, UserCreateBody


@dataclass
class Parts:
    users: dict[str, User] = durable()
    counters: dict[int, list[int]] = durable()
    tags: dict[str, list[str]] = durable()
    switchboard: Switchboard | None = durable(None)


def _reopened(path: Path) -> Parts:
    db = StateDB(path)
    parts = Parts()
    db.bind(parts, "t")
    db.close()
    return parts


def test_each_commit_writes_what_changed_in_whichever_part_it_changed(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    db = StateDB(path)
    parts = Parts()
    db.bind(parts, "t")
    parts.users["u1"] = User(id="u1", signed_up_at="2026-01-01T00:00:00Z")
    parts.counters[1] = [1]
    parts.tags["a"] = ["x"]
    parts.switchboard = Switchboard(id="s1", enabled=True)
    db.commit()

    parts.counters[1].append(2)  # only one collection noted in this commit
    db.commit()
    assert _reopened(path).counters == {1: [1, 2]}

    parts.users.get("u1").external_id = "ext"  # type: ignore[union-attr]  # another one, the next commit
    db.commit()
    parts.switchboard.enabled = False  # a single value changed in place, no collection noted at all
    db.commit()
    parts.tags.pop("a")  # a deletion, alone in its commit
    db.commit()
    db.commit()  # nothing noted: nothing lost either

    restored = _reopened(path)
    assert restored.counters == {1: [1, 2]}
    assert restored.users["u1"].external_id == "ext"
    assert restored.switchboard is not None and restored.switchboard.enabled is False
    assert restored.tags == {}
    db.close()


def _settings(state: Path) -> Settings:
    return load_settings({"sim_state_dir": state}, environ={}, persist_generated=False)


async def _call(emulator: ZendeskEmulator, method: str, path: str, body: object | None = None) -> httpx.Response:
    from starlette.applications import Starlette

    app = Starlette(routes=emulator.routes())
    settings = emulator.settings
    key = f"{settings.zendesk_key_id}:{settings.zendesk_key_secret.get_secret_value()}"
    headers = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        return await client.request(method, path, json=body, headers=headers)


async def test_a_killed_emulator_restarts_with_every_acknowledged_message_and_owed_webhook(tmp_path: Path) -> None:
    received: list[dict[str, object]] = []

    def relay(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(200)

    settings = _settings(tmp_path)
    clock = VirtualClock()
    transport = httpx.MockTransport(relay)
    first = ZendeskEmulator(settings, clock, transport, StateDB(tmp_path / DB_FILE))
    await first.startup()
    user = first.conversations.create_user(UserCreateBody(external_id="ext-1"))
    conversation = first.conversations.create_conversation(
        ConversationCreateBody.model_validate({"type": "personal", "participants": [{"userId": user.id}]})
    )
    first.db.commit()
    messages = f"/sc/v2/apps/{settings.zendesk_app_id}/conversations/{conversation.id}/messages"

    def posted(text: str) -> dict[str, object]:
        return {"author": {"type": "user", "userId": user.id}, "content": {"type": "text", "text": text}}

    # Delivered: its webhook reached the relay (the state file forgets it at the timed commit).
    assert (await _call(first, "POST", messages, posted("delivered"))).status_code == 201
    assert await first.wait_for_deliveries()
    await clock.advance(FINISHED_DELIVERY_COMMIT_SECONDS)
    # Delivered, but killed before the timed commit forgot it: sent again after the restart.
    assert (await _call(first, "POST", messages, posted("delivered, not yet forgotten"))).status_code == 201
    assert await first.wait_for_deliveries()
    # Acknowledged, but the process dies before its webhook goes out.
    await first.deliverer._stop_workers()
    first.deliverer._running = False
    assert (await _call(first, "POST", messages, posted("acknowledged, then killed"))).status_code == 201
    texts = [event["payload"]["message"]["content"]["text"] for hook in received for event in hook["events"]]  # type: ignore[index]
    assert texts == ["delivered", "delivered, not yet forgotten"]
    # kill -9: no shutdown, no close; a new process opens the same file.
    received.clear()

    second = ZendeskEmulator(settings, clock, transport, StateDB(tmp_path / DB_FILE))
    stored = second.state.messages[conversation.id]
    expected = ["delivered", "delivered, not yet forgotten", "acknowledged, then killed"]
    assert [m.content.text for m in stored] == expected
    await second.startup()
    try:
        assert await second.wait_for_deliveries()
        texts = [event["payload"]["message"]["content"]["text"] for hook in received for event in hook["events"]]  # type: ignore[index]
        # What it still owed goes out (at least once, in order); what it had forgotten does not.
        assert texts[-1] == "acknowledged, then killed"
        assert set(texts) <= {"delivered, not yet forgotten", "acknowledged, then killed"}
        listed = await _call(second, "GET", messages)
        assert [m["content"]["text"] for m in listed.json()["messages"]] == [m.content.text for m in stored]
    finally:
        await second.shutdown()
        second.db.close()
