"""SunCo REST v2 as the emulator serves it: resources, pagination, rules and error bodies."""

from __future__ import annotations

import re

import httpx
import jwt
from zdhelpers import app_path, make_conversation, user_says

from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator
from simulator.zendesk.models import Author, Content, Message, Source

HEX24 = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_users_create_get_by_external_id_update_list_delete(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    created = await zclient.post(
        app_path(settings, "/users"),
        json={"externalId": "cust-1", "profile": {"givenName": "Ana", "email": "ana@example.test"}},
    )
    assert created.status_code == 201
    user = created.json()["user"]
    assert HEX24.match(user["id"]) and TIMESTAMP.match(user["signedUpAt"])
    assert (await zclient.get(app_path(settings, "/users/cust-1"))).json()["user"]["id"] == user["id"]
    patched = await zclient.patch(app_path(settings, f"/users/{user['id']}"), json={"profile": {"surname": "Lopez"}})
    assert patched.json()["user"]["profile"] == {"givenName": "Ana", "surname": "Lopez", "email": "ana@example.test"}
    listed = await zclient.get(app_path(settings, "/users"), params={"filter[identities.email]": "ana@example.test"})
    assert [u["id"] for u in listed.json()["users"]] == [user["id"]]
    assert (await zclient.delete(app_path(settings, "/users/cust-1"))).status_code == 200
    missing = await zclient.get(app_path(settings, "/users/cust-1"))
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "not_found"


async def test_conversation_starts_with_the_default_switchboard_integration(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    conversation = (await zclient.get(app_path(settings, f"/conversations/{conv_id}"))).json()["conversation"]
    assert conversation["type"] == "personal"
    assert conversation["activeSwitchboardIntegration"]["name"] == "polyai"
    assert conversation["activeSwitchboardIntegration"]["integrationId"] == settings.zendesk_integration_id
    updated = await zclient.patch(app_path(settings, f"/conversations/{conv_id}"), json={"metadata": {"lang": "en"}})
    assert updated.json()["conversation"]["metadata"] == {"lang": "en"}
    for key, value in (("filter[userId]", user_id), ("filter[userExternalId]", "ext-Ana")):
        listed = await zclient.get(app_path(settings, "/conversations"), params={key: value})
        assert [c["id"] for c in listed.json()["conversations"]] == [conv_id]


async def test_messages_user_and_business_and_backwards_pagination(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    first = await user_says(zclient, settings, conv_id, user_id, "m0")
    business = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": {"type": "business", "displayName": "Bot"}, "content": {"type": "text", "text": "m1"}},
    )
    message = business.json()["messages"][0]
    assert message["source"] == {"type": "api:conversations"}
    assert TIMESTAMP.match(message["received"])
    for i in range(2, 150):
        await user_says(zclient, settings, conv_id, user_id, f"m{i}")
    path = app_path(settings, f"/conversations/{conv_id}/messages")
    newest = (await zclient.get(path)).json()
    assert [m["content"]["text"] for m in newest["messages"]] == [f"m{i}" for i in range(50, 150)]
    assert newest["meta"]["hasMore"] is True
    assert "afterCursor" not in newest["meta"]
    older = (await zclient.get(path, params={"page[before]": newest["meta"]["beforeCursor"]})).json()
    assert [m["content"]["text"] for m in older["messages"]] == [f"m{i}" for i in range(50)]
    assert older["messages"][0]["id"] == first
    assert older["meta"]["hasMore"] is False
    assert older["links"]["next"].endswith("page%5Bafter%5D=" + older["meta"]["afterCursor"])
    forward = (await zclient.get(path, params={"page[after]": older["meta"]["afterCursor"]})).json()
    assert [m["content"]["text"] for m in forward["messages"]] == [f"m{i}" for i in range(50, 150)]
    assert forward["meta"]["hasMore"] is False


async def test_activity_typing_is_business_only(zclient: httpx.AsyncClient, settings: Settings) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    path = app_path(settings, f"/conversations/{conv_id}/activity")
    read = await zclient.post(path, json={"type": "conversation:read", "author": {"type": "user", "userId": user_id}})
    assert read.status_code == 200 and read.json() == {}
    typing = await zclient.post(path, json={"type": "typing:start", "author": {"type": "user", "userId": user_id}})
    assert typing.status_code == 400
    assert "typing:start" in typing.json()["errors"][0]["title"]
    business = await zclient.post(path, json={"type": "typing:start", "author": {"type": "business"}})
    assert business.status_code == 200


async def test_auth_basic_jwt_and_failures(zclient: httpx.AsyncClient, settings: Settings) -> None:
    path = app_path(settings, "/switchboards")
    secret = settings.zendesk_key_secret.get_secret_value()
    for scope, status in (("app", 200), ("account", 200), ("integration", 403)):  # switchboards: app/account
        token = jwt.encode({"scope": scope}, secret, algorithm="HS256", headers={"kid": settings.zendesk_key_id})
        response = await zclient.get(path, auth=None, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, scope
    bad_tokens = [
        jwt.encode({"scope": "user"}, secret, algorithm="HS256", headers={"kid": settings.zendesk_key_id}),
        jwt.encode({"scope": "app"}, secret, algorithm="HS256", headers={"kid": "app_other"}),
        jwt.encode({"scope": "app"}, "x" * 40, algorithm="HS256", headers={"kid": settings.zendesk_key_id}),
        jwt.encode({"scope": "app"}, None, algorithm="none", headers={"kid": settings.zendesk_key_id}),
    ]
    for token in bad_tokens:
        response = await zclient.get(path, auth=None, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    wrong = await zclient.get(path, auth=(settings.zendesk_key_id, "nope"))
    assert wrong.status_code == 401
    assert wrong.json() == {"errors": [{"code": "unauthorized", "title": "Invalid credentials"}]}
    assert secret not in wrong.text
    assert (await zclient.get(path, auth=None)).status_code == 401


async def test_error_statuses(zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator) -> None:
    other_app = await zclient.get("/sc/v2/apps/0123456789abcdef01234567/switchboards")
    assert other_app.status_code == 404
    big = await zclient.post(
        app_path(settings, "/users"), json={"externalId": "x", "metadata": {"blob": "a" * 110_000}}
    )
    assert big.status_code == 413
    missing = await zclient.post(app_path(settings, "/conversations"), json={"participants": []})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["title"].startswith("type:")
    user_id, conv_id = await make_conversation(zclient, settings)
    no_text = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": {"type": "user", "userId": user_id}, "content": {"type": "text"}},
    )
    assert no_text.status_code == 400 and no_text.json()["errors"][0]["title"].startswith("content")
    no_author = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"), json={"content": {"type": "text", "text": "hi"}}
    )
    assert no_author.json()["errors"][0]["title"] == "author: Field required"


async def test_conversation_message_limit_is_423(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator
) -> None:
    user_id, conv_id = await make_conversation(zclient, settings)
    filler = Message(
        id="0" * 24,
        received="2026-01-01T09:00:00.000Z",
        author=Author(type="business"),
        content=Content(type="text", text="x"),
        source=Source(type="api:conversations"),
    )
    emulator.state.messages[conv_id] = [filler] * 30_000
    response = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": {"type": "business"}, "content": {"type": "text", "text": "one too many"}},
    )
    assert response.status_code == 423


async def test_fault_injection_429_with_retry_after(zclient: httpx.AsyncClient, settings: Settings) -> None:
    added = await zclient.post("/_sim/faults", json={"target": "sunco", "status": 429, "count": 2, "retry_after": 7})
    assert added.status_code == 201
    assert (await zclient.get("/_sim/faults")).json()["faults"][0]["remaining"] == 2
    for _ in range(2):
        limited = await zclient.post(app_path(settings, "/users"), json={"externalId": "rl"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "7"
        assert limited.json()["errors"][0]["code"] == "too_many_requests"
    assert (await zclient.post(app_path(settings, "/users"), json={"externalId": "rl"})).status_code == 201
    bad = await zclient.post("/_sim/faults", json={"target": "sunco", "count": 1})
    assert bad.status_code == 400 and "status" in bad.json()["error"]
    await zclient.post("/_sim/faults", json={"target": "sunco", "status": 503})
    assert (await zclient.delete("/_sim/faults")).json() == {"faults": []}
    assert (await zclient.get(app_path(settings, "/users/rl"))).status_code == 200


async def test_integrations_webhooks_and_switchboards(zclient: httpx.AsyncClient, settings: Settings) -> None:
    integrations = (await zclient.get(app_path(settings, "/integrations"))).json()["integrations"]
    relay = next(i for i in integrations if i["id"] == settings.zendesk_integration_id)
    assert relay["type"] == "custom"
    hook = relay["webhooks"][0]
    assert hook["id"] == settings.zendesk_webhook_id
    assert hook["target"] == settings.relay_url + settings.events_webhook_path
    assert hook["secret"] == settings.zendesk_shared_secret.get_secret_value()
    assert {"conversation:message", "switchboard:passControl", "switchboard:releaseControl"} <= set(hook["triggers"])

    boards = (await zclient.get(app_path(settings, "/switchboards"))).json()["switchboards"]
    assert boards[0]["enabled"] is True
    sbis = (await zclient.get(app_path(settings, f"/switchboards/{boards[0]['id']}/switchboardIntegrations"))).json()[
        "switchboardIntegrations"
    ]
    by_name = {s["name"]: s for s in sbis}
    assert boards[0]["defaultSwitchboardIntegrationId"] == by_name["polyai"]["id"]
    assert by_name["polyai"]["deliverStandbyEvents"] is True
    assert by_name["polyai"]["nextSwitchboardIntegrationId"] == by_name["zd-agentWorkspace"]["id"]
    assert by_name["zd-agentWorkspace"]["integrationType"] == "zd:agentWorkspace"
    assert by_name["zd-agentWorkspace"]["nextSwitchboardIntegrationId"] == by_name["polyai"]["id"]

    created = await zclient.post(
        app_path(settings, "/integrations"),
        json={
            "type": "custom",
            "displayName": "Extra",
            "webhooks": [{"target": "https://x.test/h", "triggers": ["conversation:message"]}],
        },
    )
    assert created.status_code == 201
    integration_id = created.json()["integration"]["id"]
    hooks_path = app_path(settings, f"/integrations/{integration_id}/webhooks")
    new_hook = (
        await zclient.post(hooks_path, json={"target": "https://x.test/2", "triggers": ["conversation:read"]})
    ).json()["webhook"]
    assert new_hook["version"] == "v2" and len(new_hook["secret"]) == 32
    got = (await zclient.get(f"{hooks_path}/{new_hook['id']}")).json()["webhook"]
    assert got == new_hook
    patched = await zclient.patch(f"{hooks_path}/{new_hook['id']}", json={"triggers": ["conversation:typing"]})
    assert patched.json()["webhook"]["triggers"] == ["conversation:typing"]
    bad = await zclient.patch(f"{hooks_path}/{new_hook['id']}", json={"triggers": ["nope"]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["title"].startswith("triggers")
    assert len((await zclient.get(hooks_path)).json()["webhooks"]) == 2
    assert (await zclient.delete(f"{hooks_path}/{new_hook['id']}")).status_code == 200
    renamed = await zclient.patch(app_path(settings, f"/integrations/{integration_id}"), json={"displayName": "New"})
    assert renamed.json()["integration"]["displayName"] == "New"
    assert (await zclient.delete(app_path(settings, f"/integrations/{integration_id}"))).status_code == 200
    assert (await zclient.get(app_path(settings, f"/integrations/{integration_id}"))).status_code == 404


async def test_fault_status_zero_drops_the_connection(zclient: httpx.AsyncClient, settings: Settings) -> None:
    await zclient.post("/_sim/faults", json={"target": "sunco", "status": 0, "count": 1})
    try:
        await zclient.get(app_path(settings, "/switchboards"))
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("a dropped call must surface as a transport error")
    assert (await zclient.get(app_path(settings, "/switchboards"))).status_code == 200
    bad = await zclient.post("/_sim/faults", json={"target": "sunco", "status": 200})
    assert bad.status_code == 400 and bad.json()["error"].startswith("sunco.status")


async def test_unknown_sunco_path_is_a_sunco_404(zclient: httpx.AsyncClient, settings: Settings) -> None:
    response = await zclient.get(app_path(settings, "/nothing/here"))
    assert response.status_code == 404
    assert response.json() == {"errors": [{"code": "not_found", "title": "Resource not found"}]}
    assert (await zclient.get(app_path(settings, "/nothing"), auth=None)).status_code == 401


async def test_metadata_must_be_flat_and_small(zclient: httpx.AsyncClient, settings: Settings) -> None:
    nested = await zclient.post(app_path(settings, "/users"), json={"externalId": "m", "metadata": {"a": {"b": 1}}})
    assert nested.status_code == 400 and nested.json()["errors"][0]["title"].startswith("metadata.a")
    big = await zclient.post(app_path(settings, "/users"), json={"externalId": "m", "metadata": {"a": "x" * 5000}})
    assert big.status_code == 400 and "4 KB" in big.json()["errors"][0]["title"]
