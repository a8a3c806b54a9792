"""Zendesk Support API beyond show/update: comments, show_many, count, `.json`-less paths, OAuth, actor_id."""

from __future__ import annotations

import json

import httpx
from zdhelpers import Receiver, app_path, delivered, make_conversation, user_says, zendesk_auth

from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator


async def open_ticket(zclient: httpx.AsyncClient, settings: Settings, name: str = "Ana") -> str:
    user_id, conv_id = await make_conversation(zclient, settings, name=name)
    await user_says(zclient, settings, conv_id, user_id, f"{name} needs help")
    await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/passControl"), json={"switchboardIntegration": "next"}
    )
    return conv_id


async def test_comments_show_many_and_count_with_and_without_json(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    await open_ticket(zclient, settings, "Ana")
    await open_ticket(zclient, settings, "Bo")
    await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    await zclient.post("/_sim/agent/tickets/1/messages", json={"text": "Hi <Ana>"})
    auth = zendesk_auth(settings)
    note = {"ticket": {"comment": {"body": "VIP customer", "public": False}}}
    assert (await zclient.put("/api/v2/tickets/1", json=note, auth=auth)).status_code == 200
    for suffix in (".json", ""):
        comments = (await zclient.get(f"/api/v2/tickets/1/comments{suffix}", auth=auth)).json()
        assert [(c["body"], c["public"]) for c in comments["comments"]] == [
            ("Ana needs help", True),
            ("Hi <Ana>", True),
            ("VIP customer", False),
        ]
        assert comments["comments"][0]["author_id"] != comments["comments"][1]["author_id"]
        assert "&lt;Ana&gt;" in comments["comments"][1]["html_body"]
        many = (await zclient.get(f"/api/v2/tickets/show_many{suffix}", params={"ids": "2,1,9"}, auth=auth)).json()
        assert [t["id"] for t in many["tickets"]] == [2, 1]
        count = (await zclient.get(f"/api/v2/tickets/count{suffix}", auth=auth)).json()
        assert count["count"]["value"] == 2
        assert (await zclient.get(f"/api/v2/tickets{suffix}", auth=auth)).json()["count"] == 2
    assert (await zclient.get("/api/v2/tickets/9/comments.json", auth=auth)).status_code == 404
    assert (await zclient.get("/api/v2/tickets/show_many.json", params={"ids": "x"}, auth=auth)).status_code == 422
    unknown = await zclient.get("/api/v2/macros.json", auth=auth)
    assert unknown.status_code == 404 and unknown.json()["error"] == "InvalidEndpoint"


async def test_oauth_bearer_token_and_status_actor(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    await open_ticket(zclient, settings)
    await zclient.post("/_sim/agent/tickets/1/accept", json={"agent_name": "Sarah"})
    token = settings.zendesk_api_token.get_secret_value()
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await zclient.get("/api/v2/tickets/1.json", headers=bearer, auth=None)).status_code == 200
    wrong = {"Authorization": "Bearer nope"}
    assert (await zclient.get("/api/v2/tickets/1.json", headers=wrong, auth=None)).status_code == 401
    auth = ("lead@example.test/token", token)
    await zclient.put("/api/v2/tickets/1.json", json={"ticket": {"status": "pending"}}, auth=auth)
    await delivered(emulator)
    details = [json.loads(r.content)["detail"] for r in receiver.status_requests()]
    workspace = emulator.workspace
    assert [d["status"] for d in details] == ["OPEN", "PENDING"]
    assert details[0]["actor_id"] == str(workspace.agent_id("Sarah"))  # Sarah accepted: new -> open
    assert details[1]["actor_id"] == str(workspace.agent_id("lead@example.test"))  # the API user changed it
