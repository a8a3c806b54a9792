"""The SunCo API as the spec states it: content rules, paging, errors, scopes and the lifecycle events."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from zdhelpers import Receiver, app_path, delivered, make_conversation

from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator

BUSINESS = {"type": "business", "displayName": "Bot"}
ITEM = {"title": "Shoe", "actions": [{"type": "postback", "text": "Buy", "payload": "BUY"}]}


async def post(zclient: httpx.AsyncClient, settings: Settings, conv_id: str, content: dict[str, Any], **author: Any):
    return await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": author or BUSINESS, "content": content},
    )


@pytest.mark.parametrize(
    "content",
    [
        {"type": "text", "htmlText": "<p>Hi <b>you</b></p>"},
        {"type": "text", "actions": [{"type": "link", "text": "Open", "uri": "https://example.test"}]},
        {"type": "image", "mediaUrl": "https://example.test/a.png", "altText": "a" * 128},
        {"type": "file", "mediaUrl": "https://example.test/a.pdf"},
        {"type": "location", "coordinates": {"lat": 1.5, "long": 2}},
        {"type": "carousel", "items": [ITEM] * 10},
        {"type": "list", "items": [ITEM], "actions": [{"type": "postback", "text": "More", "payload": "M"}]},
        {"type": "form", "fields": [{"type": "email", "name": "e", "label": "Email"}]},
        {"type": "template", "template": {"name": "order_update"}},
    ],
    ids=lambda c: c["type"] + ("-html" if "htmlText" in c else "-actions" if c["type"] == "text" else ""),
)
async def test_every_content_type_the_spec_allows_is_201(
    zclient: httpx.AsyncClient, settings: Settings, content: dict[str, Any]
) -> None:
    _, conv_id = await make_conversation(zclient, settings)
    response = await post(zclient, settings, conv_id, content)
    assert response.status_code == 201, response.text
    assert response.json()["messages"][0]["content"]["type"] == content["type"]


@pytest.mark.parametrize(
    ("content", "author", "field"),
    [
        ({"type": "text", "text": "x" * 4097}, BUSINESS, "content.text"),
        ({"type": "text"}, BUSINESS, "content.text"),
        ({"type": "text", "htmlText": "<p>a</p>", "markdownText": "a"}, BUSINESS, "content.markdownText"),
        (
            {"type": "image", "mediaUrl": "https://example.test/a.png", "altText": "a" * 129},
            BUSINESS,
            "content.altText",
        ),
        ({"type": "image", "mediaUrl": "not a url"}, BUSINESS, "content.mediaUrl"),
        ({"type": "image"}, BUSINESS, "content.mediaUrl"),
        ({"type": "carousel", "items": [ITEM] * 11}, BUSINESS, "content.items"),
        ({"type": "location", "coordinates": {"lat": 1}}, BUSINESS, "content.coordinates.long"),
        ({"type": "sticker"}, BUSINESS, "content.type"),
        ({"type": "text", "text": "hi"}, {"type": "business", "subtypes": ["robot"]}, "author.subtypes.0"),
        ({"type": "text", "text": "hi"}, {"type": "bot"}, "author.type"),
        ({"type": "text", "text": "hi"}, {"type": "business", "subtypes": ["AI", "bot"]}, "author.subtypes"),
        ({"type": "formResponse", "fields": [{"type": "text", "name": "a", "label": "A"}]}, BUSINESS, "content.type"),
    ],
)
async def test_what_the_spec_forbids_is_a_400_naming_the_field(
    zclient: httpx.AsyncClient, settings: Settings, content: dict[str, Any], author: dict[str, Any], field: str
) -> None:
    _, conv_id = await make_conversation(zclient, settings)
    response = await post(zclient, settings, conv_id, content, **author)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["code"] == "bad_request" and error["title"].startswith(field + ":"), error


async def test_markdown_becomes_html_and_plain_text(zclient: httpx.AsyncClient, settings: Settings) -> None:
    _, conv_id = await make_conversation(zclient, settings)
    response = await post(
        zclient, settings, conv_id, {"type": "text", "markdownText": "# Hi\nSee [docs](https://d.test)"}
    )
    content = response.json()["messages"][0]["content"]
    assert content["htmlText"] == '<h1>Hi</h1><p>See <a href="https://d.test">docs</a></p>'
    assert content["text"] == "Hi\nSee docs" and "markdownText" not in content


async def test_list_users_by_email_and_unknown_filters_are_404(zclient: httpx.AsyncClient, settings: Settings) -> None:
    await make_conversation(zclient, settings, name="Ana")
    await zclient.post(app_path(settings, "/users"), json={"externalId": "bo", "profile": {"email": "bo@x.test"}})
    found = await zclient.get(app_path(settings, "/users"), params={"filter[identities.email]": "BO@x.test"})
    assert [u["externalId"] for u in found.json()["users"]] == ["bo"]
    assert found.json()["users"][0]["identities"] == [
        {"type": "email", "value": "bo@x.test", "verification": "unverified"}
    ]
    assert (await zclient.get(app_path(settings, "/users"))).status_code == 400
    bad_email = await zclient.post(app_path(settings, "/users"), json={"profile": {"email": "not-an-email"}})
    assert bad_email.status_code == 400 and bad_email.json()["errors"][0]["title"].startswith("profile.email")
    nobody = await zclient.get(app_path(settings, "/users"), params={"filter[identities.email]": "no@x.test"})
    assert nobody.status_code == 404
    unknown = await zclient.get(app_path(settings, "/conversations"), params={"filter[userId]": "0" * 24})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "not_found"


async def test_integrations_page_by_size_with_cursors_and_links(zclient: httpx.AsyncClient, settings: Settings) -> None:
    hook = {"target": "https://example.test/h", "triggers": ["conversation:message"]}
    for n in range(3):
        body = {"type": "custom", "displayName": f"i{n}", "webhooks": [hook]}
        assert (await zclient.post(app_path(settings, "/integrations"), json=body)).status_code == 201
    path = app_path(settings, "/integrations")
    first = (await zclient.get(path, params={"page[size]": "2"})).json()
    assert len(first["integrations"]) == 2 and first["meta"]["hasMore"] is True
    assert first["meta"]["afterCursor"] == first["integrations"][-1]["id"]
    second = (await zclient.get(first["links"]["next"])).json()
    assert [i["displayName"] for i in second["integrations"]] == ["i1", "i2"] and second["meta"]["hasMore"] is False
    back = (await zclient.get(second["links"]["prev"])).json()
    assert [i["id"] for i in back["integrations"]] == [i["id"] for i in first["integrations"]]
    default = (await zclient.get(path)).json()
    assert len(default["integrations"]) == 4 and default["meta"] == {"hasMore": False} and default["links"] == {}
    for bad in (
        {"page[size]": "0"},
        {"page[size]": "101"},
        {"page[size]": "x"},
        {"page[after]": "a", "page[before]": "b"},
    ):
        assert (await zclient.get(path, params=bad)).status_code == 400, bad


async def test_wrong_method_is_405_and_unknown_path_404_both_json(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    wrong = await zclient.put(app_path(settings, "/users"))
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD, POST"
    assert wrong.json() == {"errors": [{"code": "method_not_allowed", "title": "Method PUT not allowed"}]}
    for method in ("GET", "POST", "PATCH", "DELETE"):
        missing = await zclient.request(method, "/sc/v2/nowhere")
        assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"


async def test_integration_key_gets_integration_scope_only(zclient: httpx.AsyncClient, settings: Settings) -> None:
    hook = {"target": "https://example.test/h", "triggers": ["conversation:message"]}
    made = await zclient.post(app_path(settings, "/integrations"), json={"type": "custom", "webhooks": [hook]})
    integration_id = made.json()["integration"]["id"]
    key = (
        await zclient.post(app_path(settings, f"/integrations/{integration_id}/keys"), json={"displayName": "k"})
    ).json()["key"]
    auth = (key["id"], key["secret"])
    own = await zclient.post(app_path(settings, f"/integrations/{integration_id}/webhooks"), json=hook, auth=auth)
    assert own.status_code == 201
    relay = settings.zendesk_integration_id
    other = await zclient.get(app_path(settings, f"/integrations/{relay}/webhooks"), auth=auth)
    assert other.status_code == 403 and other.json()["errors"][0]["code"] == "forbidden"
    assert (await zclient.get(app_path(settings, "/switchboards"), auth=auth)).status_code == 403
    assert (await zclient.post(app_path(settings, "/users"), json={}, auth=auth)).status_code == 201
    assert (await zclient.get("/sc/v2/apps", auth=auth)).status_code == 403  # account scope only
    # A JWT signed by the integration key is integration-scoped whatever scope it claims.
    token = jwt.encode({"scope": "app"}, key["secret"], algorithm="HS256", headers={"kid": key["id"]})
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await zclient.get(app_path(settings, "/switchboards"), auth=None, headers=bearer)).status_code == 403
    own_hooks = app_path(settings, f"/integrations/{integration_id}/webhooks")
    assert (await zclient.get(own_hooks, auth=None, headers=bearer)).status_code == 200


async def test_lifecycle_events_reach_a_webhook_subscribed_to_them(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    target = settings.relay_url + settings.events_webhook_path
    triggers = [
        "conversation:create", "conversation:remove", "conversation:join", "conversation:leave", "user:update",
        "user:remove", "client:add", "client:update", "conversation:message:delivery:channel",
        "conversation:message:delivery:user", "conversation:message:delivery:failure",
    ]  # fmt: skip
    hook = {"target": target, "triggers": triggers, "includeFullUser": True}
    made = await zclient.post(app_path(settings, "/integrations"), json={"type": "custom", "webhooks": [hook]})
    assert made.status_code == 201
    sms = {"type": "twilio", "accountSid": "AC1", "authToken": "t"}
    twilio = (await zclient.post(app_path(settings, "/integrations"), json=sms)).json()["integration"]["id"]
    user_id, conv_id = await make_conversation(zclient, settings)
    link = {
        "matchCriteria": {"type": "twilio", "integrationId": twilio, "phoneNumber": "+15145550100"},
        "confirmation": {"type": "immediate"},
        "target": {"conversationId": conv_id},
    }
    assert (await zclient.post(app_path(settings, f"/users/{user_id}/clients"), json=link)).status_code == 201
    link["confirmation"] = {"type": "prompt"}  # a second, still pending, client: its deliveries fail
    await zclient.post(app_path(settings, f"/users/{user_id}/clients"), json=link)
    await post(zclient, settings, conv_id, {"type": "text", "text": "hello"})
    group = (await zclient.post(app_path(settings, "/conversations"), json={"type": "sdkGroup"})).json()
    group_id = group["conversation"]["id"]
    await zclient.post(app_path(settings, f"/conversations/{group_id}/join"), json={"userId": user_id})
    await zclient.post(app_path(settings, f"/conversations/{group_id}/leave"), json={"userId": user_id})
    await zclient.patch(app_path(settings, f"/users/{user_id}"), json={"profile": {"givenName": "Anita"}})
    await zclient.delete(app_path(settings, f"/conversations/{group_id}"))
    await zclient.delete(app_path(settings, f"/users/{user_id}"))
    await delivered(emulator)
    kinds = [e["type"] for e in receiver.events() if e["type"] in triggers]
    for kind in triggers:
        assert kind in kinds, kind
    created = receiver.events("conversation:create")[0]["payload"]
    assert created["conversation"]["id"] == conv_id and created["user"]["profile"]["givenName"] == "Ana"
    failure = receiver.events("conversation:message:delivery:failure")[0]["payload"]
    assert failure["destination"] == {"type": "twilio", "integrationId": twilio} and failure["error"]["code"]
    assert receiver.events("user:update")[0]["payload"]["user"]["profile"]["givenName"] == "Anita"
    assert receiver.events("user:remove")[0]["payload"]["user"]["id"] == user_id


async def test_every_spec_trigger_is_accepted_and_unknown_ones_refused(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    from simulator.zendesk.models import TRIGGERS

    path = app_path(settings, f"/integrations/{settings.zendesk_integration_id}/webhooks")
    good = await zclient.post(path, json={"target": "https://example.test/h", "triggers": list(TRIGGERS)})
    assert good.status_code == 201 and len(good.json()["webhook"]["triggers"]) == 26
    bad = await zclient.post(path, json={"target": "https://example.test/h", "triggers": ["conversation:Message"]})
    assert bad.status_code == 400 and "conversation:Message" in bad.json()["errors"][0]["title"]


async def test_apps_keys_and_switchboard_lifecycle(zclient: httpx.AsyncClient, settings: Settings) -> None:
    assert (await zclient.get("/sc/v2/apps")).status_code == 403  # the app key has app scope
    board = (await zclient.get(app_path(settings, "/switchboards"))).json()["switchboards"][0]
    assert (await zclient.post(app_path(settings, "/switchboards"))).status_code == 400  # one per app
    sbis = app_path(settings, f"/switchboards/{board['id']}/switchboardIntegrations")
    bad_name = await zclient.post(sbis, json={"name": "has space", "integrationType": "custom"})
    assert bad_name.status_code == 400 and bad_name.json()["errors"][0]["title"].startswith("name")
    default = board["defaultSwitchboardIntegrationId"]
    undeletable = await zclient.delete(f"{sbis}/{default}")
    assert undeletable.status_code == 400
    assert (await zclient.delete(app_path(settings, f"/switchboards/{board['id']}"))).status_code == 200
    fresh = (await zclient.post(app_path(settings, "/switchboards"))).json()["switchboard"]
    assert fresh["enabled"] is False and "defaultSwitchboardIntegrationId" not in fresh


async def test_include_full_source_names_the_users_client(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, receiver: Receiver
) -> None:
    path = app_path(settings, f"/integrations/{settings.zendesk_integration_id}/webhooks/{settings.zendesk_webhook_id}")
    assert (await zclient.patch(path, json={"includeFullSource": True})).status_code == 200
    sms = {"type": "twilio", "accountSid": "AC1", "authToken": "t"}
    twilio = (await zclient.post(app_path(settings, "/integrations"), json=sms)).json()["integration"]["id"]
    user_id, conv_id = await make_conversation(zclient, settings)
    await post(zclient, settings, conv_id, {"type": "text", "text": "before"}, type="user", userId=user_id)
    link = {
        "matchCriteria": {"type": "twilio", "integrationId": twilio, "phoneNumber": "+15145550100"},
        "confirmation": {"type": "immediate"},
        "target": {"conversationId": conv_id},
    }
    await zclient.post(app_path(settings, f"/users/{user_id}/clients"), json=link)
    await post(zclient, settings, conv_id, {"type": "text", "text": "after"}, type="user", userId=user_id)
    await delivered(emulator)
    before, after = (e["payload"]["message"]["source"] for e in receiver.events("conversation:message"))
    assert before["client"] is None and after["client"]["integrationId"] == twilio
    wrong = await zclient.post(
        app_path(settings, f"/conversations/{conv_id}/messages"),
        json={"author": BUSINESS, "content": {"type": "text", "text": "x"}, "destination": {"integrationId": "0" * 24}},
    )
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["title"].startswith("destination.integrationId")


async def test_errors_never_quote_a_credential_and_a_crash_is_still_sunco_shaped(
    zclient: httpx.AsyncClient, settings: Settings, emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = {"type": "twilio", "accountSid": "AC1", "authToken": ["hunter2-secret"]}
    response = await zclient.post(app_path(settings, "/integrations"), json=bad)
    assert response.status_code == 400 and "hunter2" not in response.text
    assert response.json()["errors"][0]["title"] == "authToken: invalid value"

    def broken(*args: Any) -> None:
        raise RuntimeError("emulator bug")

    monkeypatch.setattr(emulator.conversations, "create_user", broken)
    crash = await zclient.post(app_path(settings, "/users"), json={})
    assert crash.status_code == 500
    assert crash.json() == {"errors": [{"code": "internal_server_error", "title": "Internal server error"}]}


async def test_attachment_upload_is_served_back_and_removed(zclient: httpx.AsyncClient, settings: Settings) -> None:
    data = b"%PDF" + b"x" * 300_000  # larger than a JSON body may be
    params = {"access": "public"}
    up = await zclient.post(
        app_path(settings, "/attachments"), params=params, files={"source": ("r.pdf", data, "application/pdf")}
    )
    assert up.status_code == 201, up.text
    media_url = up.json()["attachment"]["mediaUrl"]
    served = await zclient.get(media_url)
    assert served.content == data and served.headers["content-type"] == "application/pdf"
    assert (await zclient.post(app_path(settings, "/attachments"), files={"source": ("a", b"x")})).status_code == 400
    body = {"mediaUrl": media_url}
    assert (await zclient.post(app_path(settings, "/attachments/remove"), json=body)).status_code == 200
    assert (await zclient.get(media_url)).status_code == 404
    assert (await zclient.post(app_path(settings, "/attachments/remove"), json=body)).status_code == 404
