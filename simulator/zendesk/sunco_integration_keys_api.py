"""SunCo REST v2: a custom integration's API keys (integration scope: its own webhooks and the data API)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.zendesk import spec
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import SuncoRoutes, ok
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import Integration
from simulator.zendesk.state import AppState


class SuncoIntegrationKeysApi:
    """Create, list, get and delete the keys of a custom integration."""

    def __init__(self, state: AppState, routes: SuncoRoutes) -> None:
        self.state = state
        self.builder = routes

    def routes(self) -> list[Route]:
        r = self.builder.route
        keys = "/integrations/{integration_id}/keys"
        return [
            r(keys, self.create_key, "POST", "CreateCustomIntegrationKey"),
            r(keys, self.list_keys, "GET", "ListCustomIntegrationKeys"),
            r(keys + "/{key_id}", self.get_key, "GET", "GetCustomIntegrationKey"),
            r(keys + "/{key_id}", self.delete_key, "DELETE", "DeleteCustomIntegrationKey"),
        ]

    def _integration(self, request: Request) -> Integration:
        integration = self.state.integrations.get(request.path_params["integration_id"])
        if integration is None or integration.type.startswith("zd:"):
            raise not_found("Integration")
        if integration.type != "custom":
            raise SuncoError(400, "integrationId: only custom integrations have API keys")
        return integration

    def _key(self, request: Request) -> dict[str, Any]:
        integration = self._integration(request)
        key = self.state.integration_keys.get(request.path_params["key_id"])
        if key is None or key["integrationId"] != integration.id:
            raise not_found("Key")
        return key

    async def create_key(self, request: Request, body: Any) -> Response:
        integration = self._integration(request)
        # The request schema leaves displayName open; the key it answers with limits it (1-100).
        spec.check("displayName", body["displayName"], prefix="displayName")
        key = {
            "id": "int_" + new_id(),
            "displayName": body["displayName"],
            "secret": secrets.token_urlsafe(48),
            "integrationId": integration.id,
        }
        self.state.integration_keys[key["id"]] = key
        return ok({"key": _public(key)}, 201)

    async def list_keys(self, request: Request, body: Any) -> Response:
        integration = self._integration(request)
        found = [_public(k) for k in self.state.integration_keys.values() if k["integrationId"] == integration.id]
        return ok({"keys": found})

    async def get_key(self, request: Request, body: Any) -> Response:
        return ok({"key": _public(self._key(request))})

    async def delete_key(self, request: Request, body: Any) -> Response:
        del self.state.integration_keys[self._key(request)["id"]]
        return ok({})


def _public(key: dict[str, Any]) -> dict[str, Any]:
    return {k: key[k] for k in ("id", "displayName", "secret")}
