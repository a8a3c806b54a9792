"""The app's router: Starlette's, but a request is matched only against the routes that can match
its first path segment.

The server has about a hundred routes (the SunCo API alone has dozens) and Starlette tries them in
order, one regular expression each, so a SunCo message call was tried against a dozen routes before
its own. Routes are grouped by their first path segment when it is fixed text (`/sc/...`,
`/_sim/...`, `/handoff/...`); a route whose first segment is a parameter (or that is not a plain
path route) is a candidate for every request. Candidates keep the routes' order, so the first full
match, the first partial match (405) and the 404 are exactly what Starlette's own loop finds. The
groups are rebuilt whenever the route list changes.

Within a group, a plain route (parameters that never match a "/": str, int, float, uuid) can only
match a path with as many "/" as its own, so each group is narrowed once more by that count (a
SunCo message call was still tried against five routes of its group before its own).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette._utils import get_route_path
from starlette.convertors import FloatConvertor, IntegerConvertor, StringConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

# Parameters whose values never hold a "/" (a `path` parameter, or any other kind, may).
_ONE_SEGMENT = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)
# Paths with more "/" than this are matched against their whole group, not remembered by count.
_MAX_KEPT_SLASHES = 32


def _first_segment(route: BaseRoute) -> str | None:
    """The route's fixed first path segment, or None when any request may match it."""
    if not isinstance(route, Route | WebSocketRoute | Mount):
        return None
    path: str = route.path
    segment = path.lstrip("/").split("/", 1)[0]
    if "{" in segment or (not segment and isinstance(route, Mount)):  # a parameter, or a mount at the root
        return None
    return segment


def _slashes(route: BaseRoute) -> int | None:
    """How many "/" every path the route matches has, or None when that can vary."""
    if not isinstance(route, Route | WebSocketRoute):
        return None
    if not all(isinstance(c, _ONE_SEGMENT) for c in route.param_convertors.values()):
        return None
    return route.path.count("/")


class PrefixRouter(Router):
    """A `Router` that tries only the routes a request's first path segment can match."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indexed: tuple[BaseRoute, ...] = ()
        self._groups: dict[str, list[BaseRoute]] = {}
        self._anywhere: list[BaseRoute] = []
        # (first segment or None for the routes any path may match, "/" count) -> the candidates.
        self._shapes: dict[tuple[str | None, int], list[BaseRoute]] = {}

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes, in order, that a request for `path` can match."""
        if tuple(self.routes) != self._indexed:  # identity first: a cheap check per request
            self._index()
        segment: str | None = path.lstrip("/").split("/", 1)[0]
        if segment not in self._groups:
            segment = None  # every unknown first segment shares the routes that match anywhere
        slashes = path.count("/")
        found = self._shapes.get((segment, slashes))
        if found is None:
            group = self._anywhere if segment is None else self._groups[segment]
            found = [r for r in group if _slashes(r) in (None, slashes)]
            if slashes <= _MAX_KEPT_SLASHES:  # a bounded number of shapes is remembered
                self._shapes[(segment, slashes)] = found
        return found

    def _index(self) -> None:
        self._indexed = tuple(self.routes)
        self._shapes = {}
        segments = {_first_segment(route) for route in self._indexed} - {None}
        self._groups = {
            segment: [r for r in self._indexed if _first_segment(r) in (None, segment)]
            for segment in segments
            if segment is not None
        }
        self._anywhere = [r for r in self._indexed if _first_segment(r) is None]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial: BaseRoute | None = None
        partial_scope: MutableMapping[str, Any] = {}
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # no match: Starlette's own slash redirect or 404
