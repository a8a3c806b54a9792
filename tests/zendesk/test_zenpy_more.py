"""zenpy, unmodified, over a real socket: ticket comments, show_many and listing with an OAuth token."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
from test_clients import _ToLocal
from zenpy import Zenpy

from simulator.app import SimulatorApp
from simulator.zendesk.models import ConversationCreateBody, ParticipantBody, UserCreateBody


async def test_zenpy_comments_show_many_count_with_an_oauth_token(live_sim: SimulatorApp) -> None:
    settings, zendesk = live_sim.settings, live_sim.zendesk
    for name in ("Ana", "Bo"):
        user = zendesk.conversations.create_user(UserCreateBody(external_id=name, profile={"givenName": name}))
        conversation = zendesk.conversations.create_conversation(
            ConversationCreateBody(type="personal", participants=[ParticipantBody(user_id=user.id)])
        )
        await zendesk.control.pass_control(conversation, "zd-agentWorkspace", {})
    zendesk.workspace.accept(1, "Sarah")
    await zendesk.workspace.agent_message(1, "Hello Ana")

    session = requests.Session()
    session.mount(f"https://{settings.zendesk_subdomain}.zendesk.com", _ToLocal(settings.public_base_url))
    zenpy = Zenpy(
        subdomain=settings.zendesk_subdomain,
        oauth_token=settings.zendesk_api_token.get_secret_value(),
        session=session,
    )

    def run() -> dict[str, Any]:
        comments = list(zenpy.tickets.comments(ticket=1))
        many = list(zenpy.tickets(ids=[1, 2]))
        listed = list(zenpy.tickets())  # zenpy has no tickets.count(); the count endpoint is checked below
        return {"comments": comments, "many": many, "listed": listed}

    r = await asyncio.to_thread(run)
    assert [c.body for c in r["comments"]] == ["Hello Ana"]
    assert r["comments"][0].author_id == zendesk.workspace.agent_id("Sarah") and r["comments"][0].public
    assert sorted(t.id for t in r["many"]) == [1, 2]
    assert len(r["listed"]) == 2
    token = settings.zendesk_api_token.get_secret_value()
    count = await asyncio.to_thread(
        requests.get,
        settings.public_base_url + "/api/v2/tickets/count",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert count.json()["count"]["value"] == 2
