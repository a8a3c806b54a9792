"""Harness routes: the human agent's control plane, fault injection and the delivery log."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.bodies import JSONBody, loads
from simulator.zendesk.errors import SuncoError, field_errors
from simulator.zendesk.faults import FaultBook, fault_adapter
from simulator.zendesk.models import Content
from simulator.zendesk.webhooks import DeliveryLog
from simulator.zendesk.workspace import AgentWorkspace, WorkspaceError


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_name: str = Field(min_length=1, max_length=100)


class MessageBody(BaseModel):
    """`{"text": ...}`, or any SunCo message `content` the agent workspace can send (image, file, carousel...)."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, min_length=1, max_length=4096)
    content: Content | None = None

    @model_validator(mode="after")
    def _one(self) -> MessageBody:
        if (self.text is None) == (self.content is None):
            raise ValueError("give either text or content")
        return self


class TypingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["start", "stop"]


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str  # checked by the workspace: an unknown status is a 422, as on the Support API


M = TypeVar("M", bound=BaseModel)


def _error(status: int, message: str) -> JSONResponse:
    return JSONBody({"error": message}, status_code=status)


async def _json(request: Request) -> Any:
    try:
        return loads(await request.body() or b"{}")
    except ValueError:
        raise WorkspaceError(400, "body: invalid JSON") from None


def _parse(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise WorkspaceError(400, field_errors(exc)[0]) from None


class ControlApi:
    """`/_sim/agent/...`, `/_sim/faults` and `/_sim/deliveries`."""

    def __init__(self, workspace: AgentWorkspace, faults: FaultBook, deliveries: DeliveryLog) -> None:
        self.workspace = workspace
        self.faults = faults
        self.deliveries = deliveries

    def routes(self) -> list[Route]:
        ticket = "/_sim/agent/tickets/{ticket_id:int}"
        return [
            Route("/_sim/agent/tickets", self._wrap(self.list_tickets), methods=["GET"]),
            Route(ticket, self._wrap(self.show_ticket), methods=["GET"]),
            Route(ticket + "/accept", self._wrap(self.accept), methods=["POST"]),
            Route(ticket + "/messages", self._wrap(self.message), methods=["POST"]),
            Route(ticket + "/typing", self._wrap(self.typing), methods=["POST"]),
            Route(ticket + "/status", self._wrap(self.status), methods=["POST"]),
            Route("/_sim/faults", self._wrap(self.list_faults), methods=["GET"]),
            Route("/_sim/faults", self._wrap(self.add_fault), methods=["POST"]),
            Route("/_sim/faults", self._wrap(self.clear_faults), methods=["DELETE"]),
            Route("/_sim/deliveries", self._wrap(self.list_deliveries), methods=["GET"]),
        ]

    @staticmethod
    def _wrap(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                result: Response = await handler(request)
                return result
            except WorkspaceError as exc:
                return _error(exc.status, str(exc))
            except SuncoError as exc:  # the conversation behind a ticket is gone, say
                return _error(exc.status, exc.title)

        return endpoint

    async def list_tickets(self, request: Request) -> Response:
        return JSONBody({"tickets": [t.control_json() for t in self.workspace.all_tickets()]})

    async def show_ticket(self, request: Request) -> Response:
        return JSONBody(self.workspace.ticket(request.path_params["ticket_id"]).control_json())

    async def accept(self, request: Request) -> Response:
        body = _parse(AcceptBody, await _json(request))
        ticket = self.workspace.accept(request.path_params["ticket_id"], body.agent_name)
        return JSONBody(ticket.control_json())

    async def message(self, request: Request) -> Response:
        body = _parse(MessageBody, await _json(request))
        content = body.content or Content(type="text", text=body.text)
        message = await self.workspace.agent_message(request.path_params["ticket_id"], content=content)
        return JSONBody({"message": message.wire()}, status_code=201)

    async def typing(self, request: Request) -> Response:
        body = _parse(TypingBody, await _json(request))
        self.workspace.agent_typing(request.path_params["ticket_id"], body.state == "start")
        return JSONBody({})

    async def status(self, request: Request) -> Response:
        body = _parse(StatusBody, await _json(request))
        ticket = await self.workspace.update_status(request.path_params["ticket_id"], body.status)
        return JSONBody(ticket.control_json())

    async def list_faults(self, request: Request) -> Response:
        return JSONBody({"faults": self.faults.pending()})

    async def add_fault(self, request: Request) -> Response:
        fault = _parse_fault(await _json(request))
        self.faults.add(fault)
        return JSONBody({"faults": self.faults.pending()}, status_code=201)

    async def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return JSONBody({"faults": []})

    async def list_deliveries(self, request: Request) -> Response:
        kind = request.query_params.get("kind")
        return JSONBody(self.deliveries.entries(kind))


def _parse_fault(body: Any) -> Any:
    try:
        return fault_adapter.validate_python(body)
    except ValidationError as exc:
        raise WorkspaceError(400, field_errors(exc)[0]) from None
