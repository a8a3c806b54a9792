"""SunCo REST v2: apps, app keys, tokenInfo and the OAuth flow (authorize, token, revoke)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from simulator.config import Settings
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import SuncoRoutes, ok, parse, principal
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import Integration, Metadata, Wire
from simulator.zendesk.paging import paginate
from simulator.zendesk.state import AppState


class SuncoAppsApi:
    """Apps (account scope), app keys, tokenInfo and OAuth.

    Apps made by CreateApp are records with settings and keys; only the seeded app (ZENDESK_APP_ID)
    holds users, conversations and integrations.
    """

    def __init__(self, settings: Settings, state: AppState, routes: SuncoRoutes) -> None:
        self.settings = settings
        self.state = state
        self.builder = routes

    def routes(self) -> list[Route]:
        r = self.builder.route
        app = "/v2/apps/{app_id}"
        return [
            r("/v2/apps", self.create_app, "POST", "CreateApp", root=True),
            r("/v2/apps", self.list_apps, "GET", "ListApps", root=True),
            r(app, self.get_app, "GET", "GetApp", root=True),
            r(app, self.update_app, "PATCH", "UpdateApp", root=True),
            r(app, self.delete_app, "DELETE", "DeleteApp", root=True),
            r(app + "/keys", self.create_key, "POST", "CreateAppKey", root=True),
            r(app + "/keys", self.list_keys, "GET", "ListAppKeys", root=True),
            r(app + "/keys/{key_id}", self.get_key, "GET", "GetAppKey", root=True),
            r(app + "/keys/{key_id}", self.delete_key, "DELETE", "DeleteAppKey", root=True),
            r("/v2/tokenInfo", self.token_info, "GET", "GetTokenInfo", root=True),
            r("/oauth/authorize", self.authorize, "GET", "Authorize", root=True),
            r("/oauth/token", self.token, "POST", "GetToken", root=True),
            r("/oauth/authorization", self.revoke, "DELETE", "RevokeAccess", root=True),
        ]

    def _app(self, request: Request) -> dict[str, Any]:
        app = self.state.apps.get(request.path_params["app_id"])
        if app is None:
            raise not_found("App")
        return app

    # --- apps ----------------------------------------------------------------------------

    async def create_app(self, request: Request, body: Any) -> Response:
        _check_metadata(body)
        app = {"id": new_id(), "displayName": body["displayName"], "settings": {}, "metadata": None}
        app["settings"] = {**self.state.apps[self.state.app_id]["settings"], **body.get("settings", {})}
        if "metadata" in body:
            app["metadata"] = body["metadata"]
        self.state.apps[app["id"]] = app
        return ok({"app": _public(app)}, 201)

    async def list_apps(self, request: Request, body: Any) -> Response:
        apps = list(self.state.apps.values())
        page, meta, links = paginate(request, apps, lambda a: str(a["id"]))
        return ok({"apps": [_public(a) for a in page], "meta": meta, "links": links})

    async def get_app(self, request: Request, body: Any) -> Response:
        return ok({"app": _public(self._app(request))})

    async def update_app(self, request: Request, body: Any) -> Response:
        app = self._app(request)
        _check_metadata(body)
        if "displayName" in body:
            app["displayName"] = body["displayName"]
        if "settings" in body:
            app["settings"] = {**app["settings"], **body["settings"]}
        if "metadata" in body:
            app["metadata"] = body["metadata"]
        return ok({"app": _public(app)})

    async def delete_app(self, request: Request, body: Any) -> Response:
        app = self._app(request)
        if app["id"] == self.state.app_id:
            raise SuncoError(400, "appId: the emulated Zendesk app cannot be deleted")
        del self.state.apps[app["id"]]
        for key_id in [k for k, v in self.state.app_keys.items() if v["appId"] == app["id"]]:
            del self.state.app_keys[key_id]
        return ok({})

    # --- app keys ------------------------------------------------------------------------

    def _keys(self, request: Request) -> list[dict[str, Any]]:
        app = self._app(request)
        return [k for k in self.state.app_keys.values() if k["appId"] == app["id"]]

    async def create_key(self, request: Request, body: Any) -> Response:
        app = self._app(request)
        key = {
            "id": "app_" + new_id(),
            "displayName": body["displayName"],
            "secret": secrets.token_urlsafe(48),
            "appId": app["id"],
        }
        self.state.app_keys[key["id"]] = key
        return ok({"key": _key(key)}, 201)

    async def list_keys(self, request: Request, body: Any) -> Response:
        return ok({"keys": [_key(k) for k in self._keys(request)]})

    async def get_key(self, request: Request, body: Any) -> Response:
        key = next((k for k in self._keys(request) if k["id"] == request.path_params["key_id"]), None)
        if key is None:
            raise not_found("Key")
        return ok({"key": _key(key)})

    async def delete_key(self, request: Request, body: Any) -> Response:
        key = next((k for k in self._keys(request) if k["id"] == request.path_params["key_id"]), None)
        if key is None:
            raise not_found("Key")
        del self.state.app_keys[key["id"]]
        return ok({})

    # --- token info and OAuth ------------------------------------------------------------

    async def token_info(self, request: Request, body: Any) -> Response:
        """The app the presented credentials (OAuth token, key or JWT) belong to."""
        if self.builder.principal_of(request.headers.get("authorization")) is None:
            raise SuncoError(401, "Authorization is required")
        app = self.state.apps[self.state.app_id]
        return ok({"app": {**_public(app), "subdomain": self.settings.zendesk_subdomain}})

    async def authorize(self, request: Request, body: Any) -> Response:
        """The admin's browser step, auto-approved: redirect to redirect_uri with a code (and state)."""
        query = request.query_params
        client_id, redirect_uri = query.get("client_id"), query.get("redirect_uri")
        if not client_id:
            raise SuncoError(400, "client_id: is required")
        if query.get("response_type") != "code":
            raise SuncoError(400, "response_type: must be code")
        if not redirect_uri:
            raise SuncoError(400, "redirect_uri: no redirect URI is configured for this client")
        code = secrets.token_hex(8)
        self.state.oauth_codes[code] = client_id
        params = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302)

    async def token(self, request: Request, body: Any) -> Response:
        """Exchange a code for an access token; the client becomes an integration of the app."""
        if body["grant_type"] != "authorization_code":
            raise SuncoError(400, "grant_type: must be authorization_code")
        client_id = self.state.oauth_codes.pop(body["code"], None)
        if client_id is None or client_id != body["client_id"]:
            raise SuncoError(400, "code: invalid or already used authorization code")
        integration = Integration(id=new_id(), type="custom", display_name=client_id[:100])
        self.state.integrations[integration.id] = integration
        self.state.webhooks[integration.id] = []
        access_token = secrets.token_urlsafe(32)
        self.state.oauth_tokens[access_token] = integration.id
        return ok({"access_token": access_token, "token_type": "Bearer"})

    async def revoke(self, request: Request, body: Any) -> Response:
        """The OAuth integration is removed with its webhooks; its tokens stop working."""
        who = principal(request)
        integration_id = who.integration_id
        if integration_id is None:
            raise SuncoError(403, "only an OAuth integration token can revoke its access")
        self.state.integrations.pop(integration_id, None)
        self.state.webhooks.pop(integration_id, None)
        for token in [t for t, i in self.state.oauth_tokens.items() if i == integration_id]:
            del self.state.oauth_tokens[token]
        for key_id in [k for k, v in self.state.integration_keys.items() if v["integrationId"] == integration_id]:
            del self.state.integration_keys[key_id]
        return ok({})


def _check_metadata(body: dict[str, Any]) -> None:
    """App metadata follows the same rule as every SunCo metadata: flat, at most 4 KB."""
    if body.get("metadata") is not None:
        parse(AppMetadata, {"metadata": body["metadata"]})


class AppMetadata(Wire):
    metadata: Metadata


def _public(app: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in app.items() if k != "subdomain"}


def _key(key: dict[str, Any]) -> dict[str, Any]:
    return {k: key[k] for k in ("id", "displayName", "secret")}
