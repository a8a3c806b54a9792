"""The prefix router answers every request exactly as Starlette's own router would."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from simulator.routing import PrefixRouter


def _named(name: str) -> Route:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return Route("/", endpoint)


def _routes() -> list[BaseRoute]:
    def answer(name: str, path: str, methods: list[str] | None = None) -> Route:
        async def endpoint(request: Request) -> Response:
            return PlainTextResponse(f"{name} {sorted(request.path_params.items())}")

        return Route(path, endpoint, methods=methods)

    return [
        answer("control", "/_sim/agent/tickets/{ticket:int}/messages", ["POST"]),
        answer("health", "/_sim/health", ["GET"]),
        answer("messages", "/sc/v2/apps/{app}/conversations/{conv}/messages", ["GET", "POST"]),
        answer("any-first", "/{first}/special", ["GET"]),
        answer("conversation", "/sc/v2/apps/{app}/conversations/{conv}", ["GET"]),
        answer("float", "/_sim/f/{v:float}", ["GET"]),
        answer("uuid", "/_sim/u/{v:uuid}/x", ["GET"]),
        answer("sc-fallback", "/sc/{rest:path}", ["GET"]),
        Mount("/mounted", routes=[_named("in-mount")]),
        Mount("", routes=[answer("root-mount", "/deep/{x}", ["GET"])]),
    ]


async def _answers(router_class: type | None, requests: list[tuple[str, str]]) -> list[tuple[int, str]]:
    app = Starlette(routes=_routes())
    if router_class is not None:
        app.router = router_class(routes=_routes())
    out = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for method, path in requests:
            response = await client.request(method, path)
            out.append((response.status_code, response.text))
        if router_class is not None:  # routes added later are found too
            app.router.routes.insert(0, Route("/sc/late", lambda request: PlainTextResponse("late")))
            late = await client.get("/sc/late")
            assert late.text == "late"
    return out


async def test_the_prefix_router_matches_as_starlette_does() -> None:
    requests = [
        ("POST", "/_sim/agent/tickets/7/messages"),
        ("GET", "/_sim/agent/tickets/7/messages"),  # 405: a partial match
        ("GET", "/_sim/health"),
        ("POST", "/sc/v2/apps/a1/conversations/c1/messages"),
        ("GET", "/sc/v2/apps/a1/users"),  # the fallback after the specific route
        ("GET", "/sc/special"),  # a route whose first segment is a parameter comes first
        ("GET", "/nowhere/special"),
        ("GET", "/mounted/"),
        ("GET", "/deep/1"),  # the root mount, whatever the first segment
        ("GET", "/nothing/here"),  # 404
        ("GET", "/"),
        # Narrowed by the number of "/" too: every length, trailing slashes, parameters of each kind.
        ("GET", "/sc/v2/apps/a1/conversations/c1"),
        ("GET", "/sc/v2/apps/a1/conversations/c1/"),  # Starlette's own answer for a trailing slash
        ("DELETE", "/sc/v2/apps/a1/conversations/c1/messages"),  # 405 before the fallback
        ("GET", "/sc/v2/apps/a1/conversations/c1/messages/m1"),  # the fallback, deeper
        ("GET", "/sc/v2/apps//conversations/c1/messages"),  # an empty segment
        ("GET", "/_sim/agent/tickets/x/messages"),  # not an int
        ("GET", "/_sim/f/1.5"),
        ("GET", "/_sim/f/1.5/"),
        ("GET", "/_sim/u/12345678-1234-1234-1234-123456789abc/x"),
        ("GET", "/_sim/health/"),
        ("GET", "/" + "a/" * 40 + "special"),  # more "/" than the router remembers shapes for
        # Other methods: HEAD with GET, a 405 from the first partial match or the fallback, a 404.
        ("GET", "/sc/v2/apps/a1/conversations/c1/messages"),
        ("HEAD", "/_sim/health"),  # HEAD goes with GET
        ("HEAD", "/sc/v2/apps/a1/conversations/c1/messages"),
        ("PATCH", "/sc/v2/apps/a1/conversations/c1/messages"),  # 405 from the first partial match
        ("PUT", "/sc/v2/apps/a1/users"),  # 405 from the fallback
        ("OPTIONS", "/_sim/agent/tickets/7/messages"),
        ("POST", "/mounted/"),
        ("BREW", "/deep/1"),
        ("POST", "/" + "a/" * 40 + "special"),
    ]
    assert await _answers(PrefixRouter, requests) == await _answers(None, requests)
