"""A Basic header's key is looked up alone (`SuncoRoutes.key`), not from every key of the app gathered
first: these check that what it may do follows its key the moment the key is deleted, rotated or
rescoped, and that the lookup agrees with the whole table."""

from __future__ import annotations

import base64

import httpx
import jwt
from zdhelpers import app_path

from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator
from simulator.zendesk.auth import Principal
from simulator.zendesk.faults import FaultBook
from simulator.zendesk.http import SuncoRoutes
from simulator.zendesk.state import AppState


def _account(settings: Settings) -> dict[str, str]:
    secret = settings.zendesk_key_secret.get_secret_value()
    token = jwt.encode({"scope": "account"}, secret, algorithm="HS256", headers={"kid": settings.zendesk_key_id})
    return {"Authorization": f"Bearer {token}"}


async def _status(
    client: httpx.AsyncClient, settings: Settings, key_id: str, secret: str, path: str = "/switchboards"
) -> int:
    """A GET (ListSwitchboards: app scope) with Basic `key_id:secret`, three times: each answer must agree."""
    answers = set()
    for _ in range(3):
        response = await client.get(app_path(settings, path), auth=(key_id, secret))
        answers.add(response.status_code)
    assert len(answers) == 1, answers
    return answers.pop()


async def _app_key(zclient: httpx.AsyncClient, settings: Settings, name: str) -> dict[str, str]:
    """A new app key (CreateAppKey, account scope), as the API answers it."""
    made = await zclient.post(
        f"/sc/v2/apps/{settings.zendesk_app_id}/keys", json={"displayName": name}, headers=_account(settings), auth=None
    )
    assert made.status_code == 201, made.text
    key: dict[str, str] = made.json()["key"]
    return key


async def _integration_keys(zclient: httpx.AsyncClient, settings: Settings) -> tuple[str, dict[str, str]]:
    """A new custom integration's keys path and a first key made under it."""
    hook = {"target": "https://x.test/h", "triggers": ["conversation:message"]}
    integration = await zclient.post(
        app_path(settings, "/integrations"), json={"type": "custom", "displayName": "Ops", "webhooks": [hook]}
    )
    assert integration.status_code == 201, integration.text
    keys = app_path(settings, f"/integrations/{integration.json()['integration']['id']}/keys")
    made = await zclient.post(keys, json={"displayName": "ops"})
    assert made.status_code == 201, made.text
    return keys, made.json()["key"]


async def test_a_deleted_app_key_fails_at_once(zclient: httpx.AsyncClient, settings: Settings) -> None:
    key = await _app_key(zclient, settings, "ops")
    assert await _status(zclient, settings, key["id"], key["secret"]) == 200
    deleted = await zclient.delete(
        f"/sc/v2/apps/{settings.zendesk_app_id}/keys/{key['id']}", headers=_account(settings), auth=None
    )
    assert deleted.status_code == 200, deleted.text
    assert await _status(zclient, settings, key["id"], key["secret"]) == 401


async def test_a_rotated_or_rescoped_key_is_judged_again(
    zclient: httpx.AsyncClient, emulator: ZendeskEmulator, settings: Settings
) -> None:
    key = await _app_key(zclient, settings, "ops")
    assert await _status(zclient, settings, key["id"], key["secret"]) == 200
    # The same key id with a new secret (as a restore from another state file could leave it).
    emulator.state.app_keys[key["id"]] = {**emulator.state.app_keys[key["id"]], "secret": "rotated"}
    assert await _status(zclient, settings, key["id"], key["secret"]) == 401
    assert await _status(zclient, settings, key["id"], "rotated") == 200
    # Now bound to another app: unknown to this one.
    emulator.state.app_keys[key["id"]] = {**emulator.state.app_keys[key["id"]], "appId": "another-app"}
    assert await _status(zclient, settings, key["id"], "rotated") == 401


async def test_a_deleted_integration_key_fails_at_once(zclient: httpx.AsyncClient, settings: Settings) -> None:
    keys, key = await _integration_keys(zclient, settings)
    users = "/users/nobody"  # GetUser: integration scope may (a 404: no such user)
    assert await _status(zclient, settings, key["id"], key["secret"], users) == 404
    assert await _status(zclient, settings, key["id"], key["secret"]) == 403  # ListSwitchboards may not
    assert (await zclient.delete(f"{keys}/{key['id']}")).status_code == 200
    assert await _status(zclient, settings, key["id"], key["secret"], users) == 401


async def test_a_wrong_secret_never_rides_on_a_right_one(zclient: httpx.AsyncClient, settings: Settings) -> None:
    key_id, secret = settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value()
    assert await _status(zclient, settings, key_id, secret) == 200
    assert await _status(zclient, settings, key_id, secret + "x") == 401
    assert await _status(zclient, settings, key_id, secret[:-1]) == 401
    assert await _status(zclient, settings, key_id.upper(), secret) == 401


def test_many_headers_later_the_answers_are_the_same(settings: Settings) -> None:
    routes = SuncoRoutes(settings, FaultBook(), AppState(app_id=settings.zendesk_app_id))
    key_id, secret = settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value()
    right = "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()
    assert routes.principal_of(right) == Principal("app", key_id)
    # Many distinct headers that authenticate (trailing blanks), and wrong ones.
    for n in range(600):
        assert routes.principal_of(right + " " * n) == Principal("app", key_id)
        assert routes.principal_of(right[:-2] + "x=") is None
    assert routes.principal_of(right) == Principal("app", key_id)
    assert routes.principal_of(right.lower()) is None
    assert routes.principal_of("Basic") is None and routes.principal_of("") is None


async def test_one_key_looked_up_alone_is_the_key_the_whole_table_has(
    zclient: httpx.AsyncClient, emulator: ZendeskEmulator, settings: Settings
) -> None:
    await _app_key(zclient, settings, "extra")
    await _integration_keys(zclient, settings)
    routes = SuncoRoutes(settings, FaultBook(), emulator.state)
    table = routes.keys()
    assert {key.scope for key in table.values()} == {"app", "integration"} and len(table) == 3
    for key_id, key in table.items():
        assert routes.key(key_id) == key
    assert routes.key("no-such-key") is None
