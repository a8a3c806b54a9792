"""Zendesk's Search API (`GET /api/v2/search.json?query=...`), for tickets, as Zendesk answers it.

The query language subset the emulator understands (Zendesk Support search reference):
- `type:ticket` (other types: `user`, `organization`, `group` find nothing here: only tickets are kept);
- property keywords `status`, `tags` (or `tag`), `priority`, `group`, `brand`, `organization`,
  `assignee`, `requester`, `external_id`, `subject`, `description`, `ticket_id`, with `:` (equals),
  and for `status` also `<` / `>` (the order new < open < pending < hold < solved < closed);
- a leading `-` negates a term; `"quoted phrases"`; a bare number is a ticket id; any other word
  matches the subject, description or tags as a whole word or the start of one, in any case.
Every term must hold. An unknown keyword finds nothing (Zendesk would not match it either).
Results: `{"results": [ticket + "result_type": "ticket"], "facets": null, "next_page",
"previous_page", "count"}`, `per_page` up to 100, at most 1,000 results in all (a page past
that is a 422), `sort_by` (created_at, updated_at, priority, status, ticket_type) and `sort_order`
(default desc; without sort_by, newest first).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulator.durable import scan
from simulator.zendesk.ticket import STATUSES, Ticket

MAX_PER_PAGE = 100
MAX_RESULTS = 1000
SORT_FIELDS = ("created_at", "updated_at", "priority", "status", "ticket_type")
PRIORITY_ORDER = {None: 0, "low": 1, "normal": 2, "high": 3, "urgent": 4}
_TERM = re.compile(r"^(-?)([a-z_]+)([:<>])(.*)$", re.IGNORECASE)


class SearchQueryError(ValueError):
    """The query cannot be read (Zendesk answers 400 `invalid`)."""


@dataclass(frozen=True)
class Term:
    negate: bool
    key: str | None  # None: a bare word or phrase
    op: str
    value: str


def parse_query(query: str) -> list[Term]:
    """The terms of a search query; raises SearchQueryError for an empty or unreadable one."""
    try:
        words = shlex.split(query, posix=True)
    except ValueError as exc:  # an unclosed quote
        raise SearchQueryError(f"Invalid search: {exc}") from None
    if not words:
        raise SearchQueryError("Invalid search: the query is empty")
    terms = []
    for word in words:
        match = _TERM.match(word)
        if match and match.group(4):
            negate, key, op, value = match.groups()
            terms.append(Term(bool(negate), key.lower(), op, value.lower()))
        else:
            negate = word.startswith("-") and len(word) > 1
            terms.append(Term(negate, None, ":", word.removeprefix("-").lower() if negate else word.lower()))
    return terms


def _words(text: str | None) -> list[str]:
    return re.findall(r"[\w@.+-]+", (text or "").lower())


def _text_matches(ticket: Ticket, value: str) -> bool:
    if value.isdigit() and ticket.id == int(value):
        return True
    wanted = _words(value)
    if not wanted:
        return False
    haystack = _words(ticket.subject) + _words(ticket.description) + [t.lower() for t in ticket.tags]
    if len(wanted) == 1:
        return any(word.startswith(wanted[0]) for word in haystack)
    joined = " ".join(haystack)
    return " ".join(wanted) in joined  # a phrase: the words in that order


def _status_matches(ticket: Ticket, op: str, value: str) -> bool:
    if value not in STATUSES:
        return False
    mine, theirs = STATUSES.index(ticket.status), STATUSES.index(value)
    return mine < theirs if op == "<" else mine > theirs if op == ">" else mine == theirs


def _id_matches(value: int | None, wanted: str) -> bool:
    return value is not None and str(value) == wanted


def _term_matches(ticket: Ticket, term: Term) -> bool:
    key, value = term.key, term.value
    if key is None:
        return _text_matches(ticket, value)
    if key == "status":
        return _status_matches(ticket, term.op, value)
    if term.op != ":":
        return False
    checks: dict[str, Callable[[], bool]] = {
        "type": lambda: value == "ticket",
        "tags": lambda: value in {t.lower() for t in ticket.tags},
        "tag": lambda: value in {t.lower() for t in ticket.tags},
        "priority": lambda: (ticket.priority or "").lower() == value,
        "group": lambda: _id_matches(ticket.group_id, value),
        "brand": lambda: _id_matches(ticket.brand_id, value),
        "organization": lambda: _id_matches(ticket.organization_id, value),
        "assignee": lambda: (
            (ticket.assignee_name or "").lower() == value
            or _id_matches(ticket.assignee_id, value)
            or (value == "none" and ticket.assignee_id is None)
        ),
        "requester": lambda: (
            value in ((ticket.requester_email or "").lower(), ticket.requester_name.lower())
            or _id_matches(ticket.requester_id, value)
        ),
        "external_id": lambda: ticket.conversation_id.lower() == value,
        "subject": lambda: value in ticket.subject.lower(),
        "description": lambda: value in ticket.description.lower(),
        "ticket_id": lambda: _id_matches(ticket.id, value),
    }
    check = checks.get(key)
    return check() if check is not None else False


def matches(ticket: Ticket, terms: list[Term]) -> bool:
    """Whether the ticket satisfies every term of the query."""
    return all(_term_matches(ticket, term) != term.negate for term in terms)


def _sort_key(field: str | None) -> Callable[[Ticket], Any]:
    if field == "updated_at":
        return lambda t: t.updated_at
    if field == "priority":
        return lambda t: PRIORITY_ORDER.get(t.priority, 0)
    if field == "status":
        return lambda t: STATUSES.index(t.status)
    if field == "ticket_type":
        return lambda t: 0  # messaging tickets have no type
    return lambda t: (t.created_at, t.id)


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SearchQueryError(f"Invalid parameter: {name} must be a positive integer")
    return int(raw)


def _invalid(description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": "invalid", "description": description}, status_code=status)


def search_response(request: Request, tickets: dict[int, Ticket], base_url: str) -> Response:
    """The answer to `GET /api/v2/search.json` (credentials already checked)."""
    query = request.query_params.get("query", "")
    try:
        terms = parse_query(query)
        page = _int_param(request, "page", 1)
        per_page = min(_int_param(request, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    except SearchQueryError as exc:
        return _invalid(str(exc))
    sort_by = request.query_params.get("sort_by") or None
    if sort_by is not None and sort_by not in SORT_FIELDS:
        return _invalid(f"Invalid parameter: sort_by must be one of {', '.join(SORT_FIELDS)}")
    sort_order = (request.query_params.get("sort_order") or "desc").lower()
    if sort_order not in ("asc", "desc"):
        return _invalid("Invalid parameter: sort_order must be asc or desc")
    if (page - 1) * per_page >= MAX_RESULTS and page > 1:
        return JSONResponse(
            {"error": "invalid", "description": f"Search results are limited to {MAX_RESULTS}: page {page} is past it"},
            status_code=422,
        )
    found = [ticket for ticket in scan(tickets) if matches(ticket, terms)]
    found.sort(key=_sort_key(sort_by), reverse=sort_order == "desc")
    start = (page - 1) * per_page
    shown = found[:MAX_RESULTS][start : start + per_page]
    results = [{**tickets[t.id].support_json(base_url), "result_type": "ticket"} for t in shown]

    def page_url(number: int) -> str:
        params = {"query": query, "page": str(number), "per_page": str(per_page)}
        if sort_by:
            params["sort_by"] = sort_by
        params["sort_order"] = sort_order
        return f"{base_url}/api/v2/search.json?{urlencode(params)}"

    more = start + per_page < min(len(found), MAX_RESULTS)
    return JSONResponse(
        {
            "results": results,
            "facets": None,
            "next_page": page_url(page + 1) if more else None,
            "previous_page": page_url(page - 1) if page > 1 else None,
            "count": len(found),
        }
    )
