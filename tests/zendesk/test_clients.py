"""Fidelity oracles: the official SunCo SDK and zenpy, unmodified, against the live server (real socket)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import jwt
import requests
import sunshine_conversations_client as sc
from requests.adapters import HTTPAdapter
from zenpy import Zenpy

from simulator.app import SimulatorApp


def sdk_client(sim: SimulatorApp, **auth: Any) -> sc.ApiClient:
    settings = sim.settings
    if not auth:
        auth = {"username": settings.zendesk_key_id, "password": settings.zendesk_key_secret.get_secret_value()}
    return sc.ApiClient(sc.Configuration(host=settings.sunco_url, **auth))


async def test_sunco_sdk_handoff_calls(live_sim: SimulatorApp) -> None:
    app_id = live_sim.settings.zendesk_app_id
    client = sdk_client(live_sim)

    def run() -> dict[str, Any]:
        user = (
            sc.UsersApi(client)
            .create_user(
                app_id, sc.UserCreateBody(external_id="sdk-user", profile=sc.Profile(given_name="Ana", surname="Lopez"))
            )
            .user
        )
        conversation = (
            sc.ConversationsApi(client)
            .create_conversation(
                app_id,
                sc.ConversationCreateBody(
                    type="personal", participants=[sc.ParticipantSubSchema(sc.ParticipantWithUserId(user_id=user.id))]
                ),
            )
            .conversation
        )
        messages = sc.MessagesApi(client)
        posted = messages.post_message(
            app_id,
            conversation.id,
            sc.MessagePost(
                author=sc.Author(type="user", user_id=user.id),
                content=sc.Content(sc.TextMessage(type="text", text="I need a human")),
            ),
        )
        messages.post_message(
            app_id,
            conversation.id,
            sc.MessagePost(
                author=sc.Author(type="business", display_name="Bot"),
                content=sc.Content(sc.TextMessage(type="text", text="Connecting you")),
            ),
        )
        listed = messages.list_messages(app_id, conversation.id)
        sc.ActivitiesApi(client).post_activity(
            app_id, conversation.id, sc.ActivityPost(type="typing:start", author=sc.Author(type="business"))
        )
        sc.SwitchboardActionsApi(client).pass_control(
            app_id,
            conversation.id,
            sc.PassControlBody(
                switchboard_integration="zd-agentWorkspace",
                metadata={
                    "dataCapture.systemField.requester.name": "Ana Lopez",
                    "first_message_id": posted.messages[0].id,
                },
            ),
        )
        after = sc.ConversationsApi(client).get_conversation(app_id, conversation.id).conversation
        webhooks = sc.WebhooksApi(client).list_webhooks(app_id, live_sim.settings.zendesk_integration_id).webhooks
        boards = sc.SwitchboardsApi(client).list_switchboards(app_id).switchboards
        sbis = sc.SwitchboardIntegrationsApi(client).list_switchboard_integrations(app_id, boards[0].id)
        return {
            "listed": listed,
            "after": after,
            "webhooks": webhooks,
            "sbis": sbis.switchboard_integrations,
            "integrations": sc.IntegrationsApi(client).list_integrations(app_id).integrations,
        }

    result = await asyncio.to_thread(run)
    texts = [m.content.actual_instance.text for m in result["listed"].messages]
    assert texts == ["I need a human", "Connecting you"]
    assert result["listed"].meta.has_more is False
    assert result["after"].active_switchboard_integration.name == "zd-agentWorkspace"
    assert result["webhooks"][0].id == live_sim.settings.zendesk_webhook_id
    assert {s.name for s in result["sbis"]} == {"polyai", "zd-agentWorkspace"}
    assert [i.id for i in result["integrations"]] == [live_sim.settings.zendesk_integration_id]
    ticket = live_sim.zendesk.workspace.tickets[1]
    assert ticket.requester_name == "Ana Lopez" and [t["text"] for t in ticket.transcript][0] == "I need a human"


async def test_sunco_sdk_with_jwt(live_sim: SimulatorApp) -> None:
    settings = live_sim.settings
    token = jwt.encode(
        {"scope": "app"},
        settings.zendesk_key_secret.get_secret_value(),
        algorithm="HS256",
        headers={"kid": settings.zendesk_key_id},
    )
    client = sdk_client(live_sim, access_token=token)
    user = await asyncio.to_thread(
        sc.UsersApi(client).create_user, settings.zendesk_app_id, sc.UserCreateBody(external_id="jwt-user")
    )
    assert user.user.external_id == "jwt-user"

    bad = sdk_client(live_sim, username=settings.zendesk_key_id, password="wrong")
    try:
        await asyncio.to_thread(sc.UsersApi(bad).get_user, settings.zendesk_app_id, "jwt-user")
    except sc.ApiException as exc:
        assert exc.status == 401
    else:
        raise AssertionError("wrong credentials must be refused")


class _ToLocal(HTTPAdapter):
    """Sends zenpy's `https://<subdomain>.zendesk.com/...` requests to the local server.

    zenpy always builds `https://{subdomain}.{domain}/api/v2/...`; its documented `session=` argument
    is the clean hook. The response keeps the original request URL because zenpy's response
    handlers match on it.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        original = request.url or ""
        local = request.copy()
        local.url = self.base_url + original.split(".zendesk.com", 1)[1]
        response = super().send(local, *args, **kwargs)
        response.request, response.url = request, original
        return response


async def test_zenpy_shows_and_updates_a_ticket(live_sim: SimulatorApp) -> None:
    settings = live_sim.settings
    user = live_sim.zendesk.conversations
    from simulator.zendesk.models import ConversationCreateBody, ParticipantBody, UserCreateBody

    ana = user.create_user(UserCreateBody(external_id="zen", profile={"givenName": "Ana"}))
    conversation = user.create_conversation(
        ConversationCreateBody(type="personal", participants=[ParticipantBody(user_id=ana.id)])
    )
    await live_sim.zendesk.control.pass_control(
        conversation, "zd-agentWorkspace", {"dataCapture.systemField.tags": "vip"}
    )
    live_sim.zendesk.workspace.accept(1, "Sarah")

    session = requests.Session()
    session.mount(f"https://{settings.zendesk_subdomain}.zendesk.com", _ToLocal(settings.public_base_url))
    zenpy = Zenpy(
        subdomain=settings.zendesk_subdomain,
        email="agent@example.test",
        token=settings.zendesk_api_token.get_secret_value(),
        session=session,
    )

    def run() -> tuple[Any, Any]:
        ticket = zenpy.tickets(id=1)
        ticket.status = "solved"
        audit = zenpy.tickets.update(ticket)
        return ticket, audit

    ticket, audit = await asyncio.to_thread(run)
    assert ticket.subject == "Conversation with Ana" and ticket.tags == ["vip"]
    assert ticket.assignee_id == live_sim.zendesk.workspace.agent_id("Sarah")
    assert audit.ticket.status == "solved"
    assert live_sim.zendesk.workspace.tickets[1].status == "solved"


async def test_dropped_connection_over_a_socket(live_sim: SimulatorApp) -> None:
    settings = live_sim.settings
    auth = (settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value())
    async with httpx.AsyncClient(base_url=settings.public_base_url, auth=auth) as client:
        await client.post("/_sim/faults", json={"target": "sunco", "status": 0})
        try:
            await client.get(f"/sc/v2/apps/{settings.zendesk_app_id}/switchboards")
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("a dropped call must surface as a transport error")
        assert (await client.get(f"/sc/v2/apps/{settings.zendesk_app_id}/switchboards")).status_code == 200


async def test_sunco_sdk_switchboard_actions_and_configuration(live_sim: SimulatorApp) -> None:
    app_id = live_sim.settings.zendesk_app_id
    client = sdk_client(live_sim)

    def run() -> dict[str, Any]:
        users = sc.UsersApi(client)
        user = users.create_user(app_id, sc.UserCreateBody(external_id="sdk-2")).user
        users.update_user(app_id, "sdk-2", sc.UserUpdateBody(profile=sc.Profile(given_name="Bo")))
        conversations = sc.ConversationsApi(client)
        conversation = conversations.create_conversation(
            app_id,
            sc.ConversationCreateBody(
                type="personal", participants=[sc.ParticipantSubSchema(sc.ParticipantWithUserId(user_id=user.id))]
            ),
        ).conversation
        conversations.update_conversation(app_id, conversation.id, sc.ConversationUpdateBody(metadata={"a": "b"}))
        # (ListConversations is not called: SDK 17.0.1 sends `filter=<python repr>`, not filter[userId].)
        actions = sc.SwitchboardActionsApi(client)
        actions.offer_control(app_id, conversation.id, sc.OfferControlBody(switchboard_integration="zd-agentWorkspace"))
        offered = conversations.get_conversation(app_id, conversation.id).conversation
        actions.accept_control(app_id, conversation.id, sc.AcceptControlBody())
        actions.release_control(app_id, conversation.id, sc.ReleaseControlBody())
        released = conversations.get_conversation(app_id, conversation.id).conversation
        webhooks = sc.WebhooksApi(client)
        hook = webhooks.create_webhook(
            app_id,
            live_sim.settings.zendesk_integration_id,
            sc.WebhookCreateBody(target="https://example.test/hook", triggers=["conversation:message"]),
        ).webhook
        fetched = webhooks.get_webhook(app_id, live_sim.settings.zendesk_integration_id, hook.id).webhook
        webhooks.delete_webhook(app_id, live_sim.settings.zendesk_integration_id, hook.id)
        users.delete_user(app_id, user.id)
        return {"offered": offered, "released": released, "hook": hook, "fetched": fetched}

    result = await asyncio.to_thread(run)
    assert result["offered"].pending_switchboard_integration.name == "zd-agentWorkspace"
    assert result["released"].active_switchboard_integration is None
    assert result["released"].metadata == {"a": "b"}
    assert result["hook"].secret and result["fetched"].secret == result["hook"].secret
    assert live_sim.zendesk.workspace.tickets[1].requester_name == "Bo"  # acceptControl opened the ticket


async def test_sunco_sdk_users_conversations_paging_webhooks_and_errors(live_sim: SimulatorApp) -> None:
    settings = live_sim.settings
    app_id, integration_id = settings.zendesk_app_id, settings.zendesk_integration_id
    client = sdk_client(live_sim)

    def status_of(call: Any) -> tuple[int, str]:
        try:
            call()
        except sc.ApiException as exc:
            error = json.loads(exc.body)["errors"][0]
            return exc.status, error["code"]
        raise AssertionError("expected an error")

    def run() -> dict[str, Any]:
        users = sc.UsersApi(client)
        user = users.create_user(
            app_id, sc.UserCreateBody(external_id="sdk-3", profile=sc.Profile(given_name="Cy", email="cy@x.test"))
        ).user
        by_external = users.get_user(app_id, "sdk-3").user
        updated = users.update_user(app_id, "sdk-3", sc.UserUpdateBody(metadata={"tier": "gold"})).user
        conversations = sc.ConversationsApi(client)
        conversation = conversations.create_conversation(
            app_id,
            sc.ConversationCreateBody(
                type="personal", participants=[sc.ParticipantSubSchema(sc.ParticipantWithUserId(user_id=user.id))]
            ),
        ).conversation
        renamed = conversations.update_conversation(
            app_id, conversation.id, sc.ConversationUpdateBody(display_name="Cy's chat")
        ).conversation
        participants = sc.ParticipantsApi(client).list_participants(app_id, conversation.id).participants
        messages = sc.MessagesApi(client)
        for i in range(105):
            messages.post_message(
                app_id,
                conversation.id,
                sc.MessagePost(
                    author=sc.Author(type="business"), content=sc.Content(sc.TextMessage(type="text", text=f"m{i}"))
                ),
            )
        newest = messages.list_messages(app_id, conversation.id)
        # SDK 17.0.1 cannot page: it sends `page=<repr of Page>` instead of page[before]=..., so the
        # older page is fetched by following `links.prev`, as the spec suggests, and parsed by the SDK.
        auth = (settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value())
        older = sc.MessageListResponse.from_json(requests.get(newest.links.prev, auth=auth, timeout=10).text)
        hook = (
            sc.WebhooksApi(client)
            .update_webhook(app_id, integration_id, settings.zendesk_webhook_id, sc.WebhookBody(include_full_user=True))
            .webhook
        )
        integration = sc.IntegrationsApi(client).get_integration(app_id, integration_id).integration
        errors = {
            "user 404": status_of(lambda: users.get_user(app_id, "nobody")),
            "duplicate user": status_of(lambda: users.create_user(app_id, sc.UserCreateBody(external_id="sdk-3"))),
            "bad target": status_of(
                lambda: sc.SwitchboardActionsApi(client).pass_control(
                    app_id, conversation.id, sc.PassControlBody(switchboard_integration="nope")
                )
            ),
            "user typing": status_of(
                lambda: sc.ActivitiesApi(client).post_activity(
                    app_id,
                    conversation.id,
                    sc.ActivityPost(type="typing:start", author=sc.Author(type="user", user_id=user.id)),
                )
            ),
        }
        messages.delete_all_messages(app_id, conversation.id)
        emptied = messages.list_messages(app_id, conversation.id)
        # The spec: "the default conversation cannot be deleted, but the messages contained can be".
        errors["delete default"] = status_of(lambda: conversations.delete_conversation(app_id, conversation.id))
        users.delete_user(app_id, "sdk-3")  # deletes the user's conversation history too
        errors["deleted conversation"] = status_of(lambda: conversations.get_conversation(app_id, conversation.id))
        errors["deleted user"] = status_of(lambda: users.get_user(app_id, "sdk-3"))
        return locals()

    r = await asyncio.to_thread(run)
    assert r["by_external"].id == r["user"].id and r["updated"].metadata == {"tier": "gold"}
    assert r["updated"].profile.given_name == "Cy"
    assert r["renamed"].display_name == "Cy's chat"
    assert [p.user_id for p in r["participants"]] == [r["user"].id]
    newest, older = r["newest"], r["older"]
    assert [m.content.actual_instance.text for m in newest.messages][:1] == ["m5"] and len(newest.messages) == 100
    assert newest.meta.has_more is True and newest.meta.before_cursor == newest.messages[0].id
    assert newest.meta.after_cursor is None and newest.links.next is None
    assert [m.content.actual_instance.text for m in older.messages] == [f"m{i}" for i in range(5)]
    assert older.meta.has_more is False and older.meta.before_cursor is None and older.links.prev is None
    assert older.meta.after_cursor == older.messages[-1].id and older.links.next
    assert r["hook"].include_full_user is True and r["integration"].id == integration_id
    assert r["emptied"].messages == [] and r["emptied"].meta.has_more is False
    assert r["errors"] == {
        "user 404": (404, "not_found"),
        "duplicate user": (409, "conflict"),
        "bad target": (400, "bad_request"),
        "user typing": (400, "bad_request"),
        "delete default": (400, "bad_request"),
        "deleted conversation": (404, "not_found"),
        "deleted user": (404, "not_found"),
    }
