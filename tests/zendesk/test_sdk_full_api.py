"""The official SunCo SDK, unmodified, over a real socket: the operations beyond the handoff core."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt
import sunshine_conversations_client as sc

from simulator.app import SimulatorApp


def sdk(sim: SimulatorApp, scope: str | None = None, **auth: Any) -> sc.ApiClient:
    """An SDK client: the app key (Basic), a JWT of `scope` signed by it, or the given credentials."""
    settings = sim.settings
    secret = settings.zendesk_key_secret.get_secret_value()
    if scope is not None:
        token = jwt.encode({"scope": scope}, secret, algorithm="HS256", headers={"kid": settings.zendesk_key_id})
        auth = {"access_token": token}
    elif not auth:
        auth = {"username": settings.zendesk_key_id, "password": secret}
    return sc.ApiClient(sc.Configuration(host=settings.sunco_url, **auth))


def status_of(call: Any, *args: Any) -> int:
    """The HTTP status an SDK call failed with (0 if it succeeded)."""
    try:
        call(*args)
    except sc.ApiException as exc:
        return int(exc.status)
    return 0


async def test_sdk_apps_keys_and_token_info(live_sim: SimulatorApp) -> None:
    app_id = live_sim.settings.zendesk_app_id

    def run() -> dict[str, Any]:
        account = sdk(live_sim, scope="account")
        apps = sc.AppsApi(account)
        made = apps.create_app(sc.AppCreateBody(display_name="Second app")).app
        listed = apps.list_apps(page=sc.Page(size=10)).apps
        renamed = apps.update_app(made.id, sc.AppUpdateBody(display_name="Renamed")).app
        fetched_app = apps.get_app(made.id).app
        keys = sc.AppKeysApi(account)
        key = keys.create_app_key(app_id, sc.AppKeyCreateBody(display_name="ops")).key
        fetched = keys.get_app_key(app_id, key.id).key
        # the new key authenticates (app scope) ...
        with_key = sdk(live_sim, username=key.id, password=key.secret)
        switchboards = sc.SwitchboardsApi(with_key).list_switchboards(app_id).switchboards
        # ... but an app key may not manage apps (account scope only)
        forbidden = status_of(sc.AppsApi(with_key).list_apps)
        listed_keys = keys.list_app_keys(app_id).keys
        keys.delete_app_key(app_id, key.id)
        revoked = status_of(sc.SwitchboardsApi(with_key).list_switchboards, app_id)
        apps.delete_app(made.id)
        # SDK bug: the spec gives GetTokenInfo no `security`, so the SDK never sends credentials and
        # the call can only fail; real SunCo (and the emulator) need the token being asked about.
        token_info_status = status_of(sc.OAuthEndpointsApi(sdk(live_sim, scope="app")).get_token_info)
        return locals()

    r = await asyncio.to_thread(run)
    assert r["made"].display_name == "Second app" and r["renamed"].display_name == "Renamed"
    assert r["fetched_app"].display_name == "Renamed"
    assert {a.id for a in r["listed"]} == {app_id, r["made"].id}
    assert r["fetched"].secret == r["key"].secret and [k.id for k in r["listed_keys"]] == [r["key"].id]
    assert len(r["switchboards"]) == 1 and r["forbidden"] == 403 and r["revoked"] == 401
    assert r["token_info_status"] == 401
    settings = live_sim.settings
    auth = (settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value())
    async with httpx.AsyncClient(auth=auth) as raw:
        info = (await raw.get(settings.sunco_url + "/v2/tokenInfo")).json()["app"]
    assert info["id"] == app_id and info["subdomain"] == settings.zendesk_subdomain


async def test_sdk_users_participants_messages_and_media(live_sim: SimulatorApp) -> None:
    app_id = live_sim.settings.zendesk_app_id

    def run() -> dict[str, Any]:
        client = sdk(live_sim)
        users, convs = sc.UsersApi(client), sc.ConversationsApi(client)
        ana = users.create_user(app_id, sc.UserCreateBody(external_id="ana", profile=sc.Profile(email="a@x.test"))).user
        bo = users.create_user(app_id, sc.UserCreateBody(external_id="bo")).user
        group = convs.create_conversation(app_id, sc.ConversationCreateBody(type="sdkGroup")).conversation
        personal = convs.create_conversation(
            app_id,
            sc.ConversationCreateBody(
                type="personal", participants=[sc.ParticipantSubSchema(sc.ParticipantWithUserId(user_id=ana.id))]
            ),
        ).conversation
        parts = sc.ParticipantsApi(client)
        joined = parts.join_conversation(app_id, group.id, sc.ParticipantJoinBody(user_external_id="bo")).participant
        members = parts.list_participants(app_id, group.id).participants
        parts.leave_conversation(
            app_id, group.id, sc.ParticipantLeaveBody(sc.ParticipantLeaveBodyUserId(user_id=bo.id))
        )
        after_leave = parts.list_participants(app_id, group.id).participants
        # SDK bug: deepObject query parameters go out as JSON (`filter={"userId": ...}`), not as
        # `filter[userId]=...`, so SunCo (and the emulator) cannot see the required filter: 400.
        filtered = status_of(convs.list_conversations, app_id, sc.ConversationListFilter(user_id=ana.id))
        messages = sc.MessagesApi(client)
        rich = messages.post_message(
            app_id,
            personal.id,
            sc.MessagePost(
                author=sc.Author(type="business", subtypes=["AI"]),
                content=sc.Content(sc.TextMessage(type="text", markdown_text="**Hello** there")),
            ),
        ).messages[0]
        messages.delete_message(app_id, personal.id, rich.id)
        left = messages.list_messages(app_id, personal.id).messages
        attachments = sc.AttachmentsApi(client)
        uploaded = attachments.upload_attachment(
            app_id, "public", ("note.txt", b"hello"), var_for="message", conversation_id=personal.id
        ).attachment
        attachments.delete_attachment(app_id, sc.AttachmentDeleteBody(media_url=uploaded.media_url))
        counted = convs.post_conversion_events(
            app_id,
            personal.id,
            sc.ConversionEventsBody(
                sc.MessengerConversionEventsBody(
                    messenger=sc.MetaConversionEvent(payload=sc.MetaConversionEventPayload(data=[{"event_name": "x"}]))
                )
            ),
        )
        ref = sc.DownloadMessageRefBodyAllOfAppleInteractiveDataRef(
            url="https://example.test/ref", bid="b", key="k", signature="s", owner="o"
        )
        downloaded = convs.download_message_ref(
            app_id,
            personal.id,
            sc.DownloadMessageRefBody(
                user_id=ana.id, apple=sc.DownloadMessageRefBodyAllOfApple(interactive_data_ref=ref)
            ),
        )
        synced = users.sync_user(app_id, ana.id, sc.SyncUserBody()).user
        wiped = users.delete_user_personal_information(app_id, ana.id).user
        devices = sc.DevicesApi(client).list_devices(app_id, ana.id).devices
        no_device = status_of(sc.DevicesApi(client).get_device, app_id, ana.id, "0" * 24)
        return locals()

    r = await asyncio.to_thread(run)
    assert r["joined"].user_id == r["bo"].id and [m.user_id for m in r["members"]] == [r["bo"].id]
    assert r["after_leave"] == []
    assert r["filtered"] == 400
    assert r["rich"].content.actual_instance.html_text == "<p><strong>Hello</strong> there</p>"
    assert r["rich"].content.actual_instance.text == "Hello there"
    assert r["left"] == []
    assert r["uploaded"].media_type == "text/plain" and "/_sim/media/" in r["uploaded"].media_url
    assert r["counted"]["conversionEvents"]["eventsReceived"] == 1  # the SDK types this response as a dict
    assert r["downloaded"]["interactiveDataRef"]["bid"] == "b"
    assert r["synced"].id == r["ana"].id and r["wiped"].profile.email is None
    assert r["devices"] == [] and r["no_device"] == 404


async def test_sdk_integrations_keys_switchboards_and_clients(live_sim: SimulatorApp) -> None:
    app_id = live_sim.settings.zendesk_app_id

    def run() -> dict[str, Any]:
        client = sdk(live_sim)
        integrations = sc.IntegrationsApi(client)
        hook = sc.Webhook(target="https://example.test/hook", triggers=["conversation:create", "user:remove"])
        custom = integrations.create_integration(
            app_id, sc.Custom(type="custom", display_name="CRM", webhooks=[hook])
        ).integration
        twilio = integrations.create_integration(
            app_id, sc.Twilio(type="twilio", account_sid="AC1", auth_token="t", phone_number_sid="PN1")
        ).integration
        renamed = integrations.update_integration(
            app_id, custom.id, sc.IntegrationUpdate(sc.CustomUpdate(display_name="CRM 2"))
        ).integration
        keys = sc.CustomIntegrationApiKeysApi(client)
        key = keys.create_custom_integration_key(app_id, custom.id, sc.IntegrationApiKey(display_name="crm")).key
        scoped = sdk(live_sim, username=key.id, password=key.secret)
        own = sc.WebhooksApi(scoped).list_webhooks(app_id, custom.id).webhooks
        other = status_of(sc.WebhooksApi(scoped).list_webhooks, app_id, twilio.id)
        no_integrations = status_of(sc.IntegrationsApi(scoped).list_integrations, app_id)
        listed_keys = keys.list_custom_integration_keys(app_id, custom.id).keys
        fetched_key = keys.get_custom_integration_key(app_id, custom.id, key.id).key
        keys.delete_custom_integration_key(app_id, custom.id, key.id)

        boards = sc.SwitchboardsApi(client)
        board = boards.list_switchboards(app_id).switchboards[0]
        sbis = sc.SwitchboardIntegrationsApi(client)
        crm = sbis.create_switchboard_integration(
            app_id, board.id, sc.SwitchboardIntegrationCreateBody(name="crm", integration_id=custom.id)
        ).switchboard_integration
        updated = sbis.update_switchboard_integration(
            app_id, board.id, crm.id, sc.SwitchboardIntegrationUpdateBody(deliver_standby_events=False)
        ).switchboard_integration
        duplicate = status_of(
            sbis.create_switchboard_integration,
            app_id,
            board.id,
            sc.SwitchboardIntegrationCreateBody(name="crm", integration_id=twilio.id),
        )
        sbis.delete_switchboard_integration(app_id, board.id, crm.id)
        toggled = boards.update_switchboard(app_id, board.id, sc.SwitchboardUpdateBody(enabled=True)).switchboard

        users, convs = sc.UsersApi(client), sc.ConversationsApi(client)
        ana = users.create_user(app_id, sc.UserCreateBody(external_id="ana-sms")).user
        conv = convs.create_conversation(
            app_id,
            sc.ConversationCreateBody(
                type="personal", participants=[sc.ParticipantSubSchema(sc.ParticipantWithUserId(user_id=ana.id))]
            ),
        ).conversation
        clients = sc.ClientsApi(client)
        linked = clients.create_client(
            app_id,
            ana.id,
            sc.ClientCreate(
                match_criteria=sc.MatchCriteria(
                    sc.MatchCriteriaTwilio(type="twilio", integration_id=twilio.id, phone_number="+15145550100")
                ),
                confirmation=sc.Confirmation(type="immediate"),
                target=sc.Target(conversation_id=conv.id),
            ),
        ).client
        listed_clients = clients.list_clients(app_id, ana.id).clients
        clients.remove_client(app_id, ana.id, linked.id)
        integrations.delete_integration(app_id, twilio.id)
        one_only = status_of(boards.create_switchboard, app_id)
        boards.delete_switchboard(app_id, board.id)
        fresh = boards.create_switchboard(app_id).switchboard
        return locals()

    r = await asyncio.to_thread(run)
    assert r["custom"].webhooks[0].triggers == ["conversation:create", "user:remove"]
    assert r["renamed"].display_name == "CRM 2"
    assert r["twilio"].account_sid == "AC1" and getattr(r["twilio"], "auth_token", None) is None  # never shown back
    assert [h.target for h in r["own"]] == ["https://example.test/hook"]
    assert r["other"] == 403 and r["no_integrations"] == 403
    assert [k.id for k in r["listed_keys"]] == [r["key"].id] and r["fetched_key"].secret == r["key"].secret
    assert r["updated"].deliver_standby_events is False and r["duplicate"] == 409
    assert r["toggled"].enabled is True
    assert r["one_only"] == 400 and r["fresh"].enabled is False and r["fresh"].id != r["board"].id
    assert r["linked"].status == "pending" and r["linked"].external_id == "+15145550100"  # as created
    assert [(c.id, c.status) for c in r["listed_clients"]] == [(r["linked"].id, "active")]  # immediate: linked


async def test_sdk_oauth_authorize_follows_the_redirect_and_loses_the_code(live_sim: SimulatorApp) -> None:
    """SDK bug: `authorize` lets urllib3 follow the 302, so the caller never sees the Location with its
    code; the emulator's redirect is right (checked with httpx), the SDK just cannot use it."""
    settings = live_sim.settings
    landing = settings.public_base_url + "/_sim/health"
    client = sc.ApiClient(sc.Configuration(host=settings.sunco_url))

    def run() -> Any:
        return sc.OAuthEndpointsApi(client).authorize_without_preload_content("crm", "code", redirect_uri=landing)

    followed = await asyncio.to_thread(run)
    assert followed.status == 200 and b"ok" in followed.data  # the landing page, not the redirect
    async with httpx.AsyncClient() as raw:
        params = {"client_id": "crm", "response_type": "code", "redirect_uri": landing, "state": "s1"}
        redirect = await raw.get(settings.sunco_url + "/oauth/authorize", params=params)
        assert redirect.status_code == 302 and "code=" in redirect.headers["location"]
        code = redirect.headers["location"].split("code=")[1].split("&")[0]
    token = await asyncio.to_thread(
        sc.OAuthEndpointsApi(client).get_token,
        sc.GetTokenRequest(code=code, grant_type="authorization_code", client_id="crm", client_secret="s"),
    )
    oauth = sc.ApiClient(sc.Configuration(host=settings.sunco_url, access_token=token.access_token))
    await asyncio.to_thread(sc.OAuthEndpointsApi(oauth).revoke_access)
    gone = await asyncio.to_thread(status_of, sc.OAuthEndpointsApi(oauth).revoke_access)
    assert gone == 401  # the token died with the integration
