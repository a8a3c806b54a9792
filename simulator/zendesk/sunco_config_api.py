"""SunCo REST v2: integrations, webhooks and the switchboard control actions."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.zendesk.conversations import Conversations
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import SuncoRoutes, ok, parse, principal
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import (
    AcceptControlBody,
    Integration,
    IntegrationCreateBody,
    IntegrationUpdateBody,
    OfferControlBody,
    PassControlBody,
    ReleaseControlBody,
    Webhook,
    WebhookBody,
    WebhookCreateBody,
)
from simulator.zendesk.paging import paginate
from simulator.zendesk.spec import CHANNEL_SECRET_FIELDS
from simulator.zendesk.switchboard import SwitchboardControl

MAX_WEBHOOKS_PER_APP = 10


class SuncoConfigApi:
    """Route handlers for the configuration half of the SunCo API, and switchboard actions."""

    def __init__(self, conversations: Conversations, control: SwitchboardControl, routes: SuncoRoutes) -> None:
        self.conversations = conversations
        self.control = control
        self.state = conversations.state
        self.builder = routes

    def routes(self) -> list[Route]:
        r = self.builder.route
        conv = "/conversations/{conversation_id}"
        hooks = "/integrations/{integration_id}/webhooks"
        return [
            r("/integrations", self.list_integrations, "GET", "ListIntegrations"),
            r("/integrations", self.create_integration, "POST", "CreateIntegration"),
            r("/integrations/{integration_id}", self.get_integration, "GET", "GetIntegration"),
            r("/integrations/{integration_id}", self.update_integration, "PATCH", "UpdateIntegration"),
            r("/integrations/{integration_id}", self.delete_integration, "DELETE", "DeleteIntegration"),
            r(hooks, self.list_webhooks, "GET", "ListWebhooks"),
            r(hooks, self.create_webhook, "POST", "CreateWebhook"),
            r(hooks + "/{webhook_id}", self.get_webhook, "GET", "GetWebhook"),
            r(hooks + "/{webhook_id}", self.update_webhook, "PATCH", "UpdateWebhook"),
            r(hooks + "/{webhook_id}", self.delete_webhook, "DELETE", "DeleteWebhook"),
            r(conv + "/passControl", self.pass_control, "POST", "PassControl"),
            r(conv + "/offerControl", self.offer_control, "POST", "OfferControl"),
            r(conv + "/acceptControl", self.accept_control, "POST", "AcceptControl"),
            r(conv + "/releaseControl", self.release_control, "POST", "ReleaseControl"),
        ]

    # --- integrations --------------------------------------------------------------------

    def _integration(self, request: Request) -> Integration:
        integration = self.state.integrations.get(request.path_params["integration_id"])
        if integration is None or _internal(integration):
            raise not_found("Integration")
        who = principal(request)
        if who is not None and who.scope == "integration" and who.integration_id != integration.id:
            raise SuncoError(403, "An integration key can only manage its own integration")
        return integration

    def _integration_json(self, integration: Integration) -> dict[str, Any]:
        out = {k: v for k, v in integration.wire().items() if k not in CHANNEL_SECRET_FIELDS}
        if integration.type == "custom":
            out["webhooks"] = [h.wire() for h in self.state.webhooks.get(integration.id, [])]
        return out

    async def list_integrations(self, request: Request, body: Any) -> Response:
        wanted = request.query_params.get("filter[types]")
        types = set(wanted.split(",")) if wanted else None
        found = [i for i in self.state.integrations.values() if not _internal(i) and (not types or i.type in types)]
        page, meta, links = paginate(request, found, lambda i: i.id)
        return ok({"integrations": [self._integration_json(i) for i in page], "meta": meta, "links": links})

    async def create_integration(self, request: Request, body: Any) -> Response:
        """Any integration type the spec lists (checked against that type's schema); a custom one with its
        one webhook. Channel integrations are records: the emulator talks to no Twilio, Meta, etc."""
        if body["type"] != "custom":
            fields = {k: v for k, v in body.items() if k not in ("id", "status")}
            integration = Integration.model_validate({**fields, "id": new_id(), "status": "active"})
            self.state.integrations[integration.id] = integration
            self.state.webhooks[integration.id] = []
            return ok({"integration": self._integration_json(integration)}, 201)
        create = parse(IntegrationCreateBody, body)
        if not create.webhooks:
            raise SuncoError(400, "webhooks: a custom integration needs one webhook")
        self._room_for(len(create.webhooks))
        integration = Integration(id=new_id(), type="custom", display_name=create.display_name)
        self.state.integrations[integration.id] = integration
        self.state.webhooks[integration.id] = [self._new_webhook(w) for w in create.webhooks]
        return ok({"integration": self._integration_json(integration)}, 201)

    async def get_integration(self, request: Request, body: Any) -> Response:
        return ok({"integration": self._integration_json(self._integration(request))})

    async def update_integration(self, request: Request, body: Any) -> Response:
        integration = self._integration(request)
        update = parse(IntegrationUpdateBody, body)
        if update.display_name is not None:
            integration.display_name = update.display_name
        if integration.type != "custom":
            for key, value in body.items():
                if key not in ("id", "type", "status", "displayName"):
                    setattr(integration, key, value)
        return ok({"integration": self._integration_json(integration)})

    async def delete_integration(self, request: Request, body: Any) -> Response:
        integration = self._integration(request)
        if any(s.integration_id == integration.id for s in self.state.switchboard_integrations.values()):
            raise SuncoError(400, "integrationId: the integration is used by a switchboard integration")
        del self.state.integrations[integration.id]
        self.state.webhooks.pop(integration.id, None)
        for key_id in [k for k, v in self.state.integration_keys.items() if v["integrationId"] == integration.id]:
            del self.state.integration_keys[key_id]
        return ok({})

    # --- webhooks ------------------------------------------------------------------------

    def _room_for(self, count: int) -> None:
        if sum(len(h) for h in self.state.webhooks.values()) + count > MAX_WEBHOOKS_PER_APP:
            raise SuncoError(400, f"webhooks: an app may have at most {MAX_WEBHOOKS_PER_APP} webhooks")

    @staticmethod
    def _new_webhook(body: WebhookCreateBody) -> Webhook:
        return Webhook(
            id=new_id(),
            target=body.target,
            triggers=list(body.triggers),
            secret=secrets.token_hex(16),
            include_full_user=bool(body.include_full_user),
            include_full_source=bool(body.include_full_source),
        )

    def _webhook(self, request: Request) -> Webhook:
        integration = self._integration(request)
        for hook in self.state.webhooks.get(integration.id, []):
            if hook.id == request.path_params["webhook_id"]:
                return hook
        raise not_found("Webhook")

    async def list_webhooks(self, request: Request, body: Any) -> Response:
        integration = self._integration(request)
        return ok({"webhooks": [h.wire() for h in self.state.webhooks.get(integration.id, [])]})

    async def create_webhook(self, request: Request, body: Any) -> Response:
        integration = self._integration(request)
        if integration.type != "custom":
            raise SuncoError(400, "integrationId: webhooks belong to custom integrations")
        self._room_for(1)
        hook = self._new_webhook(parse(WebhookCreateBody, body))
        self.state.webhooks.setdefault(integration.id, []).append(hook)
        return ok({"webhook": hook.wire()}, 201)

    async def get_webhook(self, request: Request, body: Any) -> Response:
        return ok({"webhook": self._webhook(request).wire()})

    async def update_webhook(self, request: Request, body: Any) -> Response:
        hook = self._webhook(request)
        update = parse(WebhookBody, body)
        for name in ("target", "triggers", "include_full_user", "include_full_source"):
            if getattr(update, name) is not None:
                setattr(hook, name, getattr(update, name))
        return ok({"webhook": hook.wire()})

    async def delete_webhook(self, request: Request, body: Any) -> Response:
        hook = self._webhook(request)
        hooks = self.state.webhooks[request.path_params["integration_id"]]
        hooks.remove(hook)
        return ok({})

    # --- switchboard actions ------------------------------------------------------------

    async def pass_control(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        action = parse(PassControlBody, body)
        await self.control.pass_control(conversation, action.switchboard_integration, action.metadata, action.reason)
        return ok({})

    async def offer_control(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        action = parse(OfferControlBody, body)
        await self.control.offer_control(conversation, action.switchboard_integration, action.metadata)
        return ok({})

    async def accept_control(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        action = parse(AcceptControlBody, body)
        await self.control.accept_control(conversation, action.metadata)
        return ok({})

    async def release_control(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        action = parse(ReleaseControlBody, body)
        await self.control.release_control(conversation, action.metadata, action.reason)
        return ok({})


def _internal(integration: Integration) -> bool:
    """Zendesk's own integrations (agent workspace) are not listed; the SDK can't even parse their type."""
    return integration.type.startswith("zd:")
