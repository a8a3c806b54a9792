"""SunCo REST v2: the app's switchboard and its switchboard integrations (create, list, update, delete)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.durable import every
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import SuncoRoutes, ok
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import Switchboard, SwitchboardIntegration
from simulator.zendesk.state import AppState

NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class SuncoSwitchboardsApi:
    """One switchboard per app, as SunCo allows; its integrations name who may hold control."""

    def __init__(self, state: AppState, routes: SuncoRoutes) -> None:
        self.state = state
        self.builder = routes

    def routes(self) -> list[Route]:
        r = self.builder.route
        board = "/switchboards/{switchboard_id}"
        sbi = board + "/switchboardIntegrations"
        return [
            r("/switchboards", self.create_switchboard, "POST", "CreateSwitchboard"),
            r("/switchboards", self.list_switchboards, "GET", "ListSwitchboards"),
            r(board, self.update_switchboard, "PATCH", "UpdateSwitchboard"),
            r(board, self.delete_switchboard, "DELETE", "DeleteSwitchboard"),
            r(sbi, self.create_integration, "POST", "CreateSwitchboardIntegration"),
            r(sbi, self.list_integrations, "GET", "ListSwitchboardIntegrations"),
            r(sbi + "/{sbi_id}", self.update_integration, "PATCH", "UpdateSwitchboardIntegration"),
            r(sbi + "/{sbi_id}", self.delete_integration, "DELETE", "DeleteSwitchboardIntegration"),
        ]

    def _board(self, request: Request) -> Switchboard:
        board = self.state.switchboard
        if board is None or board.id != request.path_params["switchboard_id"]:
            raise not_found("Switchboard")
        return board

    def _sbi(self, request: Request) -> SwitchboardIntegration:
        self._board(request)
        found = self.state.switchboard_integrations.get(request.path_params["sbi_id"])
        if found is None:
            raise not_found("Switchboard integration")
        return found

    # --- switchboards --------------------------------------------------------------------

    async def create_switchboard(self, request: Request, body: Any) -> Response:
        """Created disabled, with no default, until its integrations are set up."""
        if self.state.switchboard is not None:
            raise SuncoError(400, "switchboard: the app already has a switchboard")
        self.state.switchboard = Switchboard(id=new_id(), enabled=False)
        return ok({"switchboard": self.state.switchboard.wire()}, 201)

    async def list_switchboards(self, request: Request, body: Any) -> Response:
        boards = [self.state.switchboard.wire()] if self.state.switchboard else []
        return ok({"switchboards": boards})

    async def update_switchboard(self, request: Request, body: Any) -> Response:
        board = self._board(request)
        default = body.get("defaultSwitchboardIntegrationId", board.default_switchboard_integration_id)
        if default is not None and default not in self.state.switchboard_integrations:
            raise SuncoError(400, "defaultSwitchboardIntegrationId: no such switchboard integration")
        enabled = body.get("enabled", board.enabled)
        if enabled and default is None:
            raise SuncoError(400, "defaultSwitchboardIntegrationId: an enabled switchboard needs a default")
        board.enabled, board.default_switchboard_integration_id = enabled, default
        return ok({"switchboard": board.wire()})

    async def delete_switchboard(self, request: Request, body: Any) -> Response:
        """Without a switchboard every integration hears everything, and nobody holds control."""
        self._board(request)
        self.state.switchboard = None
        self.state.switchboard_integrations.clear()
        for conversation_id in list(every(self.state.conversations)):  # finished ones too
            conversation = self.state.conversations[conversation_id]
            conversation.active_switchboard_integration = None
            conversation.pending_switchboard_integration = None
        return ok({})

    # --- switchboard integrations --------------------------------------------------------

    def _resolve_integration(self, body: dict[str, Any]) -> tuple[str, str]:
        """(integration id, type) from `integrationId` or `integrationType` (exactly one)."""
        integration_id, integration_type = body.get("integrationId"), body.get("integrationType")
        if bool(integration_id) == bool(integration_type):
            raise SuncoError(400, "integrationId: exactly one of integrationId or integrationType is required")
        if integration_id:
            integration = self.state.integrations.get(integration_id)
            if integration is None:
                raise SuncoError(400, "integrationId: no such integration")
            return integration.id, integration.type
        match = next((i for i in self.state.integrations.values() if i.type == integration_type), None)
        if match is None:
            raise SuncoError(400, f"integrationType: the app has no {integration_type} integration")
        return match.id, match.type

    def _check(self, body: dict[str, Any], current: SwitchboardIntegration | None) -> None:
        name = body.get("name")
        if name is not None:
            if not NAME.match(name):
                raise SuncoError(400, "name: only letters, digits, - and _ are allowed")
            if any(s.name == name and s is not current for s in self.state.switchboard_integrations.values()):
                raise SuncoError(409, f"name: a switchboard integration named {name!r} already exists")
        after = body.get("nextSwitchboardIntegrationId")
        if after is not None and after not in self.state.switchboard_integrations:
            raise SuncoError(400, "nextSwitchboardIntegrationId: no such switchboard integration")

    async def create_integration(self, request: Request, body: Any) -> Response:
        self._board(request)
        self._check(body, None)
        integration_id, integration_type = self._resolve_integration(body)
        if any(s.integration_id == integration_id for s in self.state.switchboard_integrations.values()):
            raise SuncoError(409, "integrationId: the integration is already in the switchboard")
        created = SwitchboardIntegration(
            id=new_id(),
            name=body["name"],
            integration_id=integration_id,
            integration_type=integration_type,
            deliver_standby_events=body.get("deliverStandbyEvents", True),
            next_switchboard_integration_id=body.get("nextSwitchboardIntegrationId"),
            message_history_count=body.get("messageHistoryCount"),
        )
        self.state.switchboard_integrations[created.id] = created
        return ok({"switchboardIntegration": created.wire()}, 201)

    async def list_integrations(self, request: Request, body: Any) -> Response:
        self._board(request)
        found = [s.model_dump(by_alias=True, mode="json") for s in self.state.switchboard_integrations.values()]
        return ok({"switchboardIntegrations": found})

    async def update_integration(self, request: Request, body: Any) -> Response:
        current = self._sbi(request)
        self._check(body, current)
        changes: dict[str, Any] = {}
        if "integrationId" in body or "integrationType" in body:
            changes["integration_id"], changes["integration_type"] = self._resolve_integration(body)
        for wire_name, name in (
            ("name", "name"),
            ("deliverStandbyEvents", "deliver_standby_events"),
            ("nextSwitchboardIntegrationId", "next_switchboard_integration_id"),
            ("messageHistoryCount", "message_history_count"),
        ):
            if wire_name in body:
                changes[name] = body[wire_name]
        updated = current.model_copy(update=changes)
        self.state.switchboard_integrations[current.id] = updated
        return ok({"switchboardIntegration": updated.model_dump(by_alias=True, mode="json")})

    async def delete_integration(self, request: Request, body: Any) -> Response:
        current = self._sbi(request)
        board = self.state.switchboard
        if board is not None and board.default_switchboard_integration_id == current.id:
            raise SuncoError(400, "switchboardIntegrationId: the switchboard's default cannot be deleted")
        del self.state.switchboard_integrations[current.id]
        for other in self.state.switchboard_integrations.values():
            if other.next_switchboard_integration_id == current.id:
                other.next_switchboard_integration_id = None
        return ok({})
