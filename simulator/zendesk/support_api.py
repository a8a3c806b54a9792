"""Zendesk Support API subset: tickets (list, count, show, show_many, update, search) and their comments, with
Zendesk's auth (API token or OAuth bearer) and error shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.bodies import loads
from simulator.config import Settings
from simulator.zendesk.auth import zendesk_authorized, zendesk_caller
from simulator.zendesk.comments import ticket_comments
from simulator.zendesk.ids import sunco_time, zendesk_time
from simulator.zendesk.search_api import search_response
from simulator.zendesk.ticket import STATUSES
from simulator.zendesk.workspace import AgentWorkspace, WorkspaceError


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    body: str | None = None
    html_body: str | None = None
    public: bool = True


class TicketUpdate(BaseModel):
    """The fields of `{"ticket": {...}}` the emulator acts on; the rest is accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    status: str | None = None
    tags: list[str] | None = None
    comment: CommentBody | None = None


def _invalid(field: str, description: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": "InvalidValue"}]},
        },
        status_code=422,
    )


NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}


class SupportApi:
    """`/api/v2/tickets...` as Zendesk Support answers them."""

    def __init__(self, settings: Settings, workspace: AgentWorkspace) -> None:
        self.settings = settings
        self.workspace = workspace

    def routes(self) -> list[Route]:
        """Each path with and without `.json`, as Zendesk serves both."""
        routes = []
        for suffix in (".json", ""):
            routes += [
                Route(f"/api/v2/tickets{suffix}", self.list_tickets, methods=["GET"]),
                Route(f"/api/v2/tickets/count{suffix}", self.count_tickets, methods=["GET"]),
                Route(f"/api/v2/tickets/show_many{suffix}", self.show_many, methods=["GET"]),
                Route(f"/api/v2/tickets/{{ticket_id:int}}{suffix}", self.show_ticket, methods=["GET"]),
                Route(f"/api/v2/tickets/{{ticket_id:int}}{suffix}", self.update_ticket, methods=["PUT"]),
                Route(f"/api/v2/tickets/{{ticket_id:int}}/comments{suffix}", self.list_comments, methods=["GET"]),
                Route(f"/api/v2/search{suffix}", self.search, methods=["GET"]),
            ]
        # Anything else under /api/v2 (mounted after the rest): Zendesk's JSON 404, not plain text.
        routes.append(Route("/api/v2/{rest:path}", self.unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
        return routes

    async def unknown(self, request: Request) -> Response:
        return JSONResponse({"error": "InvalidEndpoint", "description": "Not found"}, status_code=404)

    def _denied(self, request: Request) -> JSONResponse | None:
        if zendesk_authorized(request.headers.get("authorization"), self.settings):
            return None
        return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def list_tickets(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        tickets = [t.support_json(self._base(request)) for t in self.workspace.all_tickets()]
        return JSONResponse({"tickets": tickets, "next_page": None, "previous_page": None, "count": len(tickets)})

    async def count_tickets(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        now = zendesk_time(self.workspace.clock.now())
        return JSONResponse({"count": {"value": len(self.workspace.all_tickets()), "refreshed_at": now}})

    async def show_many(self, request: Request) -> Response:
        """`?ids=1,2,3` (at most 100); unknown ids are left out, as Zendesk does."""
        if denied := self._denied(request):
            return denied
        raw = request.query_params.get("ids", "")
        try:
            ids = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            return _invalid("ids", f"ids: {raw!r} is not a comma-separated list of ticket ids")
        if not ids or len(ids) > 100:
            return _invalid("ids", "ids: give between 1 and 100 ticket ids")
        base = self._base(request)
        found = [t.support_json(base) for i in ids if (t := self.workspace.tickets.get(i)) is not None]
        return JSONResponse({"tickets": found, "next_page": None, "previous_page": None, "count": len(found)})

    async def search(self, request: Request) -> Response:
        """`?query=type:ticket tags:x` and the rest of the Search API's subset (see `search_api`)."""
        if denied := self._denied(request):
            return denied
        return search_response(request, self.workspace.tickets, self._base(request))

    async def list_comments(self, request: Request) -> Response:
        """The conversation as comments (requester and agents, public) plus private notes, oldest first."""
        if denied := self._denied(request):
            return denied
        ticket = self.workspace.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        comments = ticket_comments(ticket, self.workspace)
        return JSONResponse({"comments": comments, "next_page": None, "previous_page": None, "count": len(comments)})

    async def show_ticket(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        ticket = self.workspace.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        return JSONResponse({"ticket": ticket.support_json(self._base(request))})

    async def update_ticket(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        ticket = self.workspace.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        try:
            raw = loads(await request.body())
            update = TicketUpdate.model_validate(raw["ticket"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return JSONResponse(
                {"error": "InvalidEndpoint", "description": 'Body must be {"ticket": {...}}'}, status_code=400
            )
        if ticket.status == "closed":
            return _invalid("status", "Status: closed prevents ticket update")
        actor = self.workspace.agent_id(zendesk_caller(request.headers.get("authorization")))
        if update.status is not None and update.status not in STATUSES:
            return _invalid("status", f"Status: {update.status} is not valid")
        events: list[dict[str, Any]] = []
        if update.tags is not None:
            ticket.tags = [t.lower() for t in update.tags]
            events.append({"type": "Change", "field_name": "tags", "value": ticket.tags})
        comment = update.comment
        text = comment.body or comment.html_body if comment else None
        if comment and text:
            events.append({"type": "Comment", "body": text, "public": comment.public})
            if comment.public:  # messaging tickets: a public reply goes to the conversation
                await self.workspace.agent_message(ticket.id, text, require_accepted=False)
            else:
                ticket.comments.append(
                    {
                        "author_id": actor,
                        "body": text,
                        "public": False,
                        "created_at": sunco_time(self.workspace.clock.now()),
                    }
                )
        if update.status is not None and update.status != ticket.status:
            events.append(
                {"type": "Change", "field_name": "status", "value": update.status, "previous_value": ticket.status}
            )
            try:
                await self.workspace.update_status(ticket.id, update.status, actor_id=actor)
            except WorkspaceError as exc:
                return _invalid("status", str(exc))
        ticket.updated_at = self.workspace.clock.now()
        audit = {
            "id": ticket.id * 1000 + len(ticket.comments),
            "ticket_id": ticket.id,
            "created_at": zendesk_time(ticket.updated_at),
            "author_id": ticket.assignee_id or -1,
            "metadata": {},
            "events": [{"id": index + 1, **event} for index, event in enumerate(events)],
        }
        return JSONResponse({"ticket": ticket.support_json(self._base(request)), "audit": audit})
