"""The calls of a conformance run: every operation once or more with valid requests (in an order that makes
the ids each needs), then invalid ones (no credentials, wrong scope, unknown ids, malformed bodies)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt

from simulator.conformance.checker import Expect, SpecChecker
from simulator.conformance.paths import DROP, UNKNOWN_ID, apply, concrete, mutations, unknown_last_id

NO_AUTH_OPS = frozenset({"Authorize", "GetToken"})


@dataclass(frozen=True)
class Target:
    """Where the emulator is and the app key an admin copied from it."""

    base_url: str  # ends in /sc
    app_id: str
    key_id: str
    key_secret: str


def account_jwt(target: Target) -> str:
    """An account-scope JWT (the emulator treats a JWT signed by the app key as its `scope` claim says)."""
    return jwt.encode({"scope": "account"}, target.key_secret, algorithm="HS256", headers={"kid": target.key_id})


class Plan:
    """Runs the calls, remembering ids made along the way (`ids`) and one valid call per operation."""

    def __init__(
        self, client: httpx.AsyncClient, checker: SpecChecker, target: Target, sink_url: str | None = None
    ) -> None:
        self.sink_url = sink_url
        self.client = client
        self.checker = checker
        self.target = target
        self.ids: dict[str, str] = {"app": target.app_id}
        self.valid: dict[str, tuple[str, str, Any]] = {}  # op -> (method, path, json body) of a valid call
        self.basic = httpx.BasicAuth(target.key_id, target.key_secret)
        self.account = {"Authorization": f"Bearer {account_jwt(target)}"}
        self.integration: httpx.BasicAuth | None = None

    async def call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        label: str = "valid",
        expect: Expect = "ok",
        json: Any = None,
        auth: Any = "app",
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; `path` may use `{name}` for remembered ids; `auth` app|account|None|BasicAuth."""
        url = path.format(**self.ids)
        headers: dict[str, str] = kwargs.pop("headers", {})
        basic: httpx.BasicAuth | None = None
        if auth == "app":
            basic = self.basic
        elif auth == "account":
            headers = {**headers, **self.account}
        elif isinstance(auth, httpx.BasicAuth):
            basic = auth
        response = await self.client.request(
            method, self.target.base_url + url, json=json, auth=basic, headers=headers, **kwargs
        )
        self.checker.check(op, label, expect, response)
        if expect == "ok" and 200 <= response.status_code < 400 and op not in self.valid:
            self.valid[op] = (method, url, json)
        return response

    def keep(self, name: str, response: httpx.Response, *keys: str) -> None:
        """Remember an id from a response body (`keys` is the path to it)."""
        value: Any = response.json() if response.content else {}
        for key in keys:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if isinstance(value, str):
            self.ids[name] = value

    # --- the valid calls -----------------------------------------------------------------

    async def run_valid(self) -> None:
        await self.listener()
        await self.apps()
        await self.users_and_conversations()
        await self.messages()
        await self.integrations()
        await self.switchboards()
        await self.users_extras()
        await self.spec_examples()
        await self.oauth()

    async def listener(self) -> None:
        """An integration outside the switchboard (so it hears every conversation) whose webhook sends every
        event type the spec describes, with the full user and source, to the run's own target."""
        if self.sink_url is None:
            return
        triggers = sorted(self.checker.event_types())
        hook = {"target": self.sink_url, "triggers": triggers, "includeFullUser": True, "includeFullSource": True}
        body = {"type": "custom", "displayName": "conformance listener", "webhooks": [hook]}
        await self.call("CreateIntegration", "POST", "/v2/apps/{app}/integrations", label="listener", json=body)

    async def apps(self) -> None:
        a = "/v2/apps"
        r = await self.call("CreateApp", "POST", a, json={"displayName": "Conformance"}, auth="account")
        self.keep("app2", r, "app", "id")
        await self.call("ListApps", "GET", a, auth="account", params={"page[size]": "2"})
        await self.call("GetApp", "GET", a + "/{app2}", auth="account")
        await self.call("UpdateApp", "PATCH", a + "/{app2}", json={"displayName": "Renamed"}, auth="account")
        r = await self.call("CreateAppKey", "POST", a + "/{app2}/keys", json={"displayName": "k"}, auth="account")
        self.keep("appkey", r, "key", "id")
        await self.call("ListAppKeys", "GET", a + "/{app2}/keys", auth="account")
        await self.call("GetAppKey", "GET", a + "/{app2}/keys/{appkey}", auth="account")
        await self.call("DeleteAppKey", "DELETE", a + "/{app2}/keys/{appkey}", auth="account")
        await self.call("DeleteApp", "DELETE", a + "/{app2}", auth="account")
        await self.call("GetTokenInfo", "GET", "/v2/tokenInfo")

    async def users_and_conversations(self) -> None:
        p = "/v2/apps/{app}"
        stamp = str(int(time.time() * 1000))
        self.ids["email"] = f"conf-{stamp}@example.test"
        r = await self.call(
            "CreateUser",
            "POST",
            p + "/users",
            json={"externalId": f"conf-{stamp}", "profile": {"givenName": "Ana", "email": self.ids["email"]}},
        )
        self.keep("user", r, "user", "id")
        r = await self.call("CreateUser", "POST", p + "/users", json={"externalId": f"conf2-{stamp}"})
        self.keep("user2", r, "user", "id")
        await self.call("ListUsers", "GET", p + "/users", params={"filter[identities.email]": self.ids["email"]})
        await self.call("GetUser", "GET", p + "/users/{user}")
        await self.call("UpdateUser", "PATCH", p + "/users/{user}", json={"profile": {"surname": "Lopez"}})
        body = {"type": "personal", "participants": [{"userId": self.ids["user"]}]}
        r = await self.call("CreateConversation", "POST", p + "/conversations", json=body)
        self.keep("conv", r, "conversation", "id")
        r = await self.call("CreateConversation", "POST", p + "/conversations", json={"type": "sdkGroup"})
        self.keep("group", r, "conversation", "id")
        await self.call("ListConversations", "GET", p + "/conversations", params={"filter[userId]": self.ids["user"]})
        await self.call("GetConversation", "GET", p + "/conversations/{conv}")
        await self.call("UpdateConversation", "PATCH", p + "/conversations/{conv}", json={"displayName": "Help"})
        g = p + "/conversations/{group}"
        await self.call("JoinConversation", "POST", g + "/join", json={"userId": self.ids["user2"]})
        await self.call("ListParticipants", "GET", g + "/participants")
        await self.call("LeaveConversation", "POST", g + "/leave", json={"userId": self.ids["user2"]})

    async def messages(self) -> None:
        c = "/v2/apps/{app}/conversations/{conv}"
        user = {"type": "user", "userId": self.ids["user"]}
        business = {"type": "business", "displayName": "Bot", "subtypes": ["AI"]}
        action = {"type": "postback", "text": "Yes", "payload": "YES"}
        item = {"title": "Shoe", "mediaUrl": "https://example.org/shoe.png", "actions": [action]}
        contents = {
            "text": {"type": "text", "text": "hello"},
            "htmlText": {"type": "text", "htmlText": "<p>Hello <strong>there</strong></p>"},
            "markdownText": {"type": "text", "markdownText": "# Hello\n**there**"},
            "image": {"type": "image", "mediaUrl": "https://example.org/a.png", "altText": "a picture"},
            "file": {"type": "file", "mediaUrl": "https://example.org/a.pdf"},
            "location": {"type": "location", "coordinates": {"lat": 45.5, "long": -73.5}},
            "carousel": {"type": "carousel", "items": [item, item]},
            "list": {"type": "list", "items": [item]},
            "form": {"type": "form", "fields": [{"type": "text", "name": "n", "label": "Name"}]},
            "template": {"type": "template", "template": {"name": "hsm", "language": {"code": "en"}}},
        }
        r = await self.call("PostMessage", "POST", c + "/messages", json={"author": user, "content": contents["text"]})
        self.keep("message", r, "messages", "0", "id")
        messages = r.json().get("messages", [{}]) if r.status_code == 201 else [{}]
        self.ids["message"] = messages[0].get("id", UNKNOWN_ID)
        for name, content in contents.items():
            await self.call(
                "PostMessage",
                "POST",
                c + "/messages",
                label=f"content {name}",
                json={"author": business, "content": content},
            )
        invalid = {
            "text too long": {"type": "text", "text": "x" * 4097},
            "image without mediaUrl": {"type": "image"},
            "altText over 128": {"type": "image", "mediaUrl": "https://example.org/a.png", "altText": "x" * 129},
            "carousel of 11": {"type": "carousel", "items": [item] * 11},
            "unknown type": {"type": "sticker"},
            "html and markdown": {"type": "text", "htmlText": "<p>a</p>", "markdownText": "a"},
            "empty text": {"type": "text"},
        }
        for name, content in invalid.items():
            await self.call(
                "PostMessage",
                "POST",
                c + "/messages",
                label=name,
                expect="error",
                json={"author": business, "content": content},
            )
        bad_subtype = {"author": {"type": "business", "subtypes": ["robot"]}, "content": contents["text"]}
        await self.call("PostMessage", "POST", c + "/messages", label="bad subtype", expect="error", json=bad_subtype)
        await self.call("ListMessages", "GET", c + "/messages", params={"page[size]": "5"})
        await self.call("DeleteMessage", "DELETE", c + "/messages/{message}")
        await self.call("PostActivity", "POST", c + "/activity", json={"type": "typing:start", "author": business})
        r = await self.call(
            "UploadAttachment",
            "POST",
            "/v2/apps/{app}/attachments",
            params={"access": "public", "for": "message", "conversationId": self.ids["conv"]},
            files={"source": ("a.txt", b"hello", "text/plain")},
        )
        media_url = r.json().get("attachment", {}).get("mediaUrl", "") if r.status_code == 201 else ""
        await self.call("DeleteAttachment", "POST", "/v2/apps/{app}/attachments/remove", json={"mediaUrl": media_url})
        ref = {"url": "https://example.org/ref", "bid": "b", "key": "k", "signature": "s", "owner": "o"}
        await self.call(
            "DownloadMessageRef",
            "POST",
            c + "/download",
            json={"userId": self.ids["user"], "apple": {"interactiveDataRef": ref}},
        )
        events = {"messenger": {"payload": {"data": [{"event_name": "Purchase", "event_time": 1}]}}}
        await self.call("PostConversionEvents", "POST", c + "/conversionEvents", json=events)

    async def integrations(self) -> None:
        i = "/v2/apps/{app}/integrations"
        hook = {"target": "http://127.0.0.1:9/hook", "triggers": ["conversation:message", "conversation:create"]}
        r = await self.call(
            "CreateIntegration", "POST", i, json={"type": "custom", "displayName": "C", "webhooks": [hook]}
        )
        self.keep("integration", r, "integration", "id")
        twilio = {"type": "twilio", "accountSid": "AC1", "authToken": "secret", "phoneNumberSid": "PN1"}
        r = await self.call("CreateIntegration", "POST", i, label="twilio", json=twilio)
        self.keep("twilio", r, "integration", "id")
        await self.call("ListIntegrations", "GET", i, params={"page[size]": "1"})
        await self.call("GetIntegration", "GET", i + "/{integration}")
        await self.call("UpdateIntegration", "PATCH", i + "/{integration}", json={"displayName": "Renamed"})
        k = i + "/{integration}/keys"
        r = await self.call("CreateCustomIntegrationKey", "POST", k, json={"displayName": "ik"})
        self.keep("intkey", r, "key", "id")
        secret = r.json().get("key", {}).get("secret", "") if r.status_code == 201 else ""
        self.integration = httpx.BasicAuth(self.ids.get("intkey", ""), secret)
        await self.call("ListCustomIntegrationKeys", "GET", k)
        await self.call("GetCustomIntegrationKey", "GET", k + "/{intkey}")
        w = i + "/{integration}/webhooks"
        every = ["conversation:message", "conversation:join", "user:update", "client:add", "passthrough:messaging"]
        r = await self.call(
            "CreateWebhook",
            "POST",
            w,
            json={"target": "https://example.org/w", "triggers": every},
            auth=self.integration,
        )
        self.keep("webhook", r, "webhook", "id")
        await self.call("ListWebhooks", "GET", w, auth=self.integration)
        await self.call("GetWebhook", "GET", w + "/{webhook}")
        await self.call("UpdateWebhook", "PATCH", w + "/{webhook}", json={"includeFullUser": True})
        await self.call(
            "CreateWebhook",
            "POST",
            "/v2/apps/{app}/integrations/{twilio}/webhooks",
            label="other integration's",
            expect="error",
            json={"target": "https://example.org/w", "triggers": every},
            auth=self.integration,
        )
        await self.call("DeleteWebhook", "DELETE", w + "/{webhook}")

    async def switchboards(self) -> None:
        s = "/v2/apps/{app}/switchboards"
        r = await self.call("ListSwitchboards", "GET", s)
        boards = r.json().get("switchboards", []) if r.status_code == 200 else []
        self.ids["board"] = boards[0]["id"] if boards else UNKNOWN_ID
        si = s + "/{board}/switchboardIntegrations"
        r = await self.call(
            "CreateSwitchboardIntegration", "POST", si, json={"name": "conf", "integrationId": self.ids["integration"]}
        )
        self.keep("sbi", r, "switchboardIntegration", "id")
        await self.call("ListSwitchboardIntegrations", "GET", si)
        await self.call("UpdateSwitchboardIntegration", "PATCH", si + "/{sbi}", json={"deliverStandbyEvents": False})
        c = "/v2/apps/{app}/conversations/{conv}"
        await self.call("PassControl", "POST", c + "/passControl", json={"switchboardIntegration": "conf"})
        await self.call("ReleaseControl", "POST", c + "/releaseControl", json={"metadata": {"why": "done"}})
        await self.call("OfferControl", "POST", c + "/offerControl", json={"switchboardIntegration": "conf"})
        await self.call("AcceptControl", "POST", c + "/acceptControl", json={})
        await self.call("DeleteSwitchboardIntegration", "DELETE", si + "/{sbi}")
        await self.call("UpdateSwitchboard", "PATCH", s + "/{board}", json={"enabled": True})
        await self.call("DeleteSwitchboard", "DELETE", s + "/{board}")
        r = await self.call("CreateSwitchboard", "POST", s)
        self.keep("board", r, "switchboard", "id")

    async def users_extras(self) -> None:
        u = "/v2/apps/{app}/users/{user}"
        link = {
            "matchCriteria": {
                "type": "twilio",
                "integrationId": self.ids.get("twilio", UNKNOWN_ID),
                "phoneNumber": "+15145550100",
            },
            "confirmation": {"type": "immediate"},
            "target": {"conversationId": self.ids["conv"]},
        }
        r = await self.call("CreateClient", "POST", u + "/clients", json=link)
        self.keep("client", r, "client", "id")
        await self.call("ListClients", "GET", u + "/clients")
        await self.call("RemoveClient", "DELETE", u + "/clients/{client}")
        pending = {**link, "confirmation": {"type": "prompt"}}  # stays pending: deliveries to it fail
        await self.call("CreateClient", "POST", u + "/clients", label="pending", json=pending)
        await self.call("ListDevices", "GET", u + "/devices")
        await self.call("GetDevice", "GET", u + "/devices/" + UNKNOWN_ID, label="no device exists", expect="error")
        await self.call("SyncUser", "POST", "/v2/apps/{app}/users/{user}/sync", json={})
        await self.call("DeleteUserPersonalInformation", "DELETE", "/v2/apps/{app}/users/{user2}/personalinformation")

    async def spec_examples(self) -> None:
        """The spec's own request examples, ids swapped for ones that exist here: each must succeed."""
        r = await self.call(
            "CreateIntegration",
            "POST",
            "/v2/apps/{app}/integrations",
            label="whatsapp",
            json={"type": "whatsapp", "phoneNumber": "+15145550101"},
        )
        self.keep("whatsapp", r, "integration", "id")
        targets = {  # clients first: business messages then report delivery to them
            "CreateClient": "/v2/apps/{app}/users/{user}/clients",
            "PostMessage": "/v2/apps/{app}/conversations/{conv}/messages",
            "PostActivity": "/v2/apps/{app}/conversations/{conv}/activity",
            "JoinConversation": "/v2/apps/{app}/conversations/{group}/join",
        }
        for op, path in targets.items():
            for name, example in self.checker.request_examples(op).items() if op in self.checker.ops else ():
                if op == "CreateClient" and name not in ("twilio", "whatsapp", "default"):
                    continue  # mailgun and messagebird channels are not set up in this run
                body = self._with_our_ids(example)
                await self.call(op, "POST", path, label=f"spec example {name}", json=body)

    def _with_our_ids(self, value: Any, key: str = "") -> Any:
        """An example with its ids replaced: users, conversations, integrations of the right type."""
        if isinstance(value, dict):
            out = {k: self._with_our_ids(v, k) for k, v in value.items()}
            if key == "matchCriteria" and "type" in out:
                out["integrationId"] = self.ids.get(out["type"], UNKNOWN_ID)
            return out
        if isinstance(value, list):
            return [self._with_our_ids(v, key) for v in value]
        if key == "userId":
            return self.ids["user"]
        if key == "conversationId":
            return self.ids["conv"]
        return value

    async def oauth(self) -> None:
        r = await self.call(
            "Authorize",
            "GET",
            "/oauth/authorize",
            auth=None,
            params={"client_id": "conformance", "response_type": "code", "redirect_uri": "https://example.org/cb"},
        )
        code = parse_qs(urlparse(r.headers.get("location", "")).query).get("code", [""])[0]
        body = {"code": code, "grant_type": "authorization_code", "client_id": "conformance", "client_secret": "s"}
        r = await self.call("GetToken", "POST", "/oauth/token", json=body, auth=None)
        token = r.json().get("access_token", "") if r.status_code == 200 else ""
        await self.call(
            "GetTokenInfo",
            "GET",
            "/v2/tokenInfo",
            label="OAuth token",
            auth=None,
            headers={"Authorization": f"Bearer {token}"},
        )
        await self.call(
            "RevokeAccess", "DELETE", "/oauth/authorization", auth=None, headers={"Authorization": f"Bearer {token}"}
        )

    async def teardown(self) -> None:
        c = "/v2/apps/{app}/conversations/{conv}"
        await self.call("DeleteAllMessages", "DELETE", c + "/messages")
        await self.call("DeleteConversation", "DELETE", c, label="the default conversation", expect="error")
        await self.call("DeleteConversation", "DELETE", "/v2/apps/{app}/conversations/{group}")
        await self.call(
            "DeleteCustomIntegrationKey", "DELETE", "/v2/apps/{app}/integrations/{integration}/keys/{intkey}"
        )
        await self.call("DeleteIntegration", "DELETE", "/v2/apps/{app}/integrations/{integration}")
        await self.call("DeleteUser", "DELETE", "/v2/apps/{app}/users/{user2}")

    # --- mutated bodies -----------------------------------------------------------------

    async def run_mutations(self) -> None:
        """Each valid body again with one field dropped or replaced by a value of another type: whatever
        the answer, it must be documented, valid, and never a server error."""
        for op, (method, url, body) in list(self.valid.items()):
            if not isinstance(body, dict) or op in ("RevokeAccess", "DeleteAttachment", "GetToken"):
                continue
            auth = "account" if self.checker.ops.get(op, {}).get("scopes") == ["account"] else "app"
            for path, value in mutations(body):
                mutated = apply(body, path, value)
                label = (
                    f"mutated {'.'.join(map(str, path)) or 'body'}={'(dropped)' if value is DROP else repr(value)[:20]}"
                )
                await self.call(op, method, url, label=label, expect="any", auth=auth, json=mutated)

    # --- the invalid calls ---------------------------------------------------------------

    async def run_invalid(self) -> None:
        """Per operation: no credentials, a scope it does not allow, an unknown id, a malformed body."""
        integration_key = self.integration
        for op, info in self.checker.ops.items():
            method, path = info["method"], concrete(info["path"], self.ids)
            if op not in NO_AUTH_OPS:
                await self.call(op, method, path, label="no credentials", expect="error", auth=None)
            if "integration" not in info["scopes"] and info["scopes"] and integration_key is not None:
                await self.call(
                    op,
                    method,
                    path,
                    label="integration scope",
                    expect="error",
                    auth=integration_key,
                    json={} if method in ("POST", "PATCH") else None,
                )
            if "app" not in info["scopes"] and "account" in info["scopes"]:
                await self.call(
                    op,
                    method,
                    path,
                    label="app scope",
                    expect="error",
                    json={} if method in ("POST", "PATCH") else None,
                )
            unknown = unknown_last_id(info["path"], path)
            if unknown is not None:
                auth = "account" if info["scopes"] == ["account"] else "app"
                body: Any = self.valid.get(op, ("", "", {}))[2] if method in ("POST", "PATCH") else None
                await self.call(op, method, unknown, label="unknown id", expect="error", auth=auth, json=body)
            if method in ("POST", "PATCH") and op not in ("CreateSwitchboard", "Authorize"):
                auth = "account" if info["scopes"] == ["account"] else "app"
                if op == "RevokeAccess":
                    continue
                await self.call(
                    op, method, path, label="malformed body", expect="error", auth=auth, json=["not", "an", "object"]
                )
                for label, extra in (
                    ("not JSON", {"content": b"{oops", "headers": {"Content-Type": "application/json"}}),
                    ("form instead of JSON", {"files": {"other": ("a.txt", b"x", "text/plain")}}),
                ):
                    await self.call(op, method, path, label=label, expect="error", auth=auth, **extra)
