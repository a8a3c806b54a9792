"""The Zendesk Support API reads the relay makes (a ticket's status), with the SunCo client's conventions.

Optional: only when an admin gave the relay an agent's API token (Admin Center > Apps and
integrations > APIs > Zendesk API) and that agent's email (`ZENDESK_API_TOKEN`,
`ZENDESK_API_EMAIL`). SunCo says nothing when a ticket is solved (control comes back only when
it closes), so without these a lost "solved" status webhook is only made good at close.
Same timeouts, retries (429 Retry-After, 5xx and transport errors with jittered backoff) and
concurrency cap as the SunCo client; the token is never logged or traced.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from simulator.clock import Clock
from simulator.config import Settings
from simulator.outbound import Reply, SendError, basic_auth
from simulator.relay.sunco_client import ApiClient, ApiError
from simulator.relay.webhooks import secret_text
from simulator.trace import Trace

log = logging.getLogger("simulator.relay.support")

_ACCEPT = {"Accept": "application/json"}

M = TypeVar("M", bound=BaseModel)

# Reads made while reconciling: two attempts at most (the next quiet period tries again).
READ_ATTEMPTS = 2


class SupportApiError(ApiError):
    """A Support API call failed. `status` is None for transport errors and timeouts."""


class TicketView(BaseModel):
    """The parts of a Support API ticket the relay reads."""

    model_config = ConfigDict(extra="ignore")

    id: int
    status: str
    tags: list[str] = []


class _TicketBody(BaseModel):
    ticket: TicketView


class _SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    results: list[dict[str, Any]]


def support_configured(settings: Settings) -> bool:
    """Whether the relay may read tickets: an agent's email and API token are both set."""
    return bool(settings.zendesk_api_email.strip() and secret_text(settings.zendesk_api_token))


class SupportClient(ApiClient):
    """`GET /api/v2/tickets/{id}.json` and `GET /api/v2/search.json`, as an agent with an API token."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        *,
        rng: random.Random | None = None,
        trace: Trace | None = None,
    ) -> None:
        # API token auth: Basic `{email}/token:{api_token}` (Zendesk's own form).
        user = f"{settings.zendesk_api_email.strip()}/token"
        headers = {"Authorization": basic_auth(user, secret_text(settings.zendesk_api_token)), **_ACCEPT}
        super().__init__(
            settings, clock, transport, base_url=settings.support_url, headers=headers, rng=rng, trace=trace
        )

    async def ticket(self, ticket_id: str | int) -> TicketView | None:
        """The ticket as Zendesk has it now; None when Zendesk has no such ticket (404)."""
        try:
            response = await self._get(f"/api/v2/tickets/{int(ticket_id)}.json", ticket=int(ticket_id))
        except SupportApiError as exc:
            if exc.status == 404:
                return None
            raise
        return _parse(_TicketBody, response).ticket

    async def find_ticket(self, tags: list[str]) -> TicketView | None:
        """The newest ticket carrying every one of `tags`, by the Search API; None when none is found
        (also while a new ticket is not yet indexed: Zendesk takes up to a few minutes)."""
        wanted = [tag.lower() for tag in tags if tag]
        if not wanted:
            return None
        # One tag in the query (its meaning is plain); the relay checks the others on the results.
        query = f"type:ticket tags:{wanted[0]}"
        response = await self._get("/api/v2/search.json", params={"query": query})
        found: list[TicketView] = []
        for raw in _parse(_SearchBody, response).results:
            if raw.get("result_type") != "ticket":
                continue
            try:
                ticket = TicketView.model_validate(raw)
            except ValidationError:
                continue
            if set(wanted) <= {tag.lower() for tag in ticket.tags}:
                found.append(ticket)
        return max(found, key=lambda t: t.id) if found else None

    async def _get(self, path: str, *, params: dict[str, str] | None = None, ticket: int | None = None) -> Reply:
        once = lambda: self._attempt(path, params, ticket)  # noqa: E731
        return await self._retrying(f"GET {path}", once, READ_ATTEMPTS, event="relay.support.error")

    async def _attempt(self, path: str, params: dict[str, str] | None, ticket: int | None) -> Reply:
        await self._slots.acquire()  # waiting for a slot is no part of the attempt or its timeout
        started = time.perf_counter()
        try:
            response = await self._http.request("GET", path + ("?" + urlencode(params) if params else ""))
        except SendError as exc:
            self._traced(path, params, None, started, ticket, error=exc.name)
            raise SupportApiError(f"GET {path}: {exc.name}", None, retryable=True, detail=exc.detail) from None
        finally:
            self._slots.release()
        self._traced(path, params, response, started, ticket)
        if response.is_success:
            return response
        raise SupportApiError.refused(f"GET {path}", response)

    def _traced(
        self,
        path: str,
        params: dict[str, str] | None,
        response: Reply | None,
        started: float,
        ticket: int | None,
        *,
        error: str | None = None,
    ) -> None:
        if not self.trace.enabled:
            return
        answer: Any = None
        if response is not None:
            try:
                answer = response.json()
            except ValueError:
                answer = response.text[:500]
        status = None if response is None else response.status_code
        shown = path + ("?" + urlencode(params) if params else "")
        self.trace.record(
            "support.call",
            f"GET {shown} " + (str(status) if status is not None else error or "no answer"),
            ticket=ticket,
            status=status,
            ms=(time.perf_counter() - started) * 1000,
            data={"method": "GET", "path": shown, "request": None, "response": answer, "error": error},
        )


def _parse(model: type[M], response: Reply) -> M:
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise SupportApiError(f"GET {response.path}: unexpected body: {exc}") from None
