"""The harness's HTTP client in-process: httpx's own client, with plain requests sent straight into
the app (`simulator.asgi_call`) rather than through httpx's request machinery.

The actors keep speaking httpx (`client.post(...)`, `response.json()`, WebSockets through
httpx-ws); what a request carries and what the app sees is what `httpx.ASGITransport` would have
given it. A request with anything less plain (query params, form data, auth flows, files, cookies)
goes the usual way.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any

import httpx
from httpx._client import USE_CLIENT_DEFAULT, UseClientDefault
from httpx_ws.transport import ASGIWebSocketTransport

from simulator.asgi_call import ASGIApp, as_written, call, request_headers, target


class InProcessClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` on the app's in-process WebSocket transport, with a fast path for
    plain requests (a relative URL, no query params, a JSON or bytes body or none)."""

    def __init__(self, app: ASGIApp, *, base_url: str, timeout: float) -> None:
        super().__init__(transport=ASGIWebSocketTransport(app=app), base_url=base_url, timeout=timeout)
        self._app = app
        self._base = str(self.base_url).rstrip("/")
        self._urls: dict[str, httpx.URL] = {}

    async def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: Any = USE_CLIENT_DEFAULT,  # noqa: ASYNC109 (httpx's own signature)
        extensions: Any = None,
    ) -> httpx.Response:
        plain = (
            isinstance(url, str)
            and url.startswith("/")
            and "?" not in url
            and as_written(url)
            and data is None
            and files is None
            and params is None
            and cookies is None
            and auth is USE_CLIENT_DEFAULT
            and self.auth is None
            and not extensions
            and not self.cookies
            and not self.event_hooks["request"]
            and not self.event_hooks["response"]
            and (content is None or isinstance(content, bytes | str))
            and (headers is None or isinstance(headers, Mapping))
        )
        if not plain:
            return await super().request(
                method,
                url,
                content=content,
                data=data,
                files=files,
                json=json,
                params=params,
                headers=headers,
                cookies=cookies,
                auth=auth,
                follow_redirects=follow_redirects,
                timeout=timeout,
                extensions=extensions,
            )
        return await self._direct(method.upper(), str(url), content, json, headers)

    async def _direct(
        self, method: str, path: str, content: bytes | str | None, json: Any, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        full = self._base + path
        where = target(full)
        body: bytes | None = None
        content_type = None
        if content is not None:
            body = content.encode() if isinstance(content, str) else content
        elif json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            content_type = b"application/json"
        sent = request_headers(where, method, self.headers.raw, headers, body, content_type)
        status, answer_headers, answer = await call(self._app, method, where, sent, body or b"")
        request = httpx.Request(method, self._url(full), headers=sent, content=body)
        return httpx.Response(status, headers=answer_headers, content=answer, request=request)

    def _url(self, full: str) -> httpx.URL:
        found = self._urls.get(full)
        if found is None:
            if len(self._urls) >= 1024:
                self._urls.clear()
            found = self._urls[full] = httpx.URL(full)
        return found
