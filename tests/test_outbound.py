"""The lean outbound client over real sockets (aiohttp): answers, and every kind of failure named as
httpx names it, with whether the request may have reached the server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from simulator.outbound import OutboundClient, SendError, basic_auth, json_body

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    line, *rest = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in rest if ":" in h)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return line, headers, body


async def _answer_json(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            line, headers, body = await _read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        reply = json.dumps({"line": line, "auth": headers.get("authorization"), "body": body.decode()}).encode()
        writer.write(
            b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(reply)}\r\n\r\n".encode()
            + reply
        )
        await writer.drain()


async def _never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    await asyncio.sleep(5)


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.close()


async def _server(handler: Handler) -> AsyncIterator[str]:
    tasks: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def _client(base_url: str = "", timeout: float = 5.0) -> OutboundClient:
    import ssl

    return OutboundClient(
        transport=None,
        base_url=base_url,
        timeout=timeout,
        max_connections=4,
        ssl_context=ssl.create_default_context(),
        headers={"Authorization": basic_auth("key", "sécret")},
    )


async def test_an_answer_is_read_whole_with_its_headers_and_json() -> None:
    async for url in _server(_answer_json):
        client = _client(url + "/sc")
        try:
            for _ in range(2):  # the second goes over the kept-alive connection
                reply = await client.request(
                    "POST", "/v2/x?page[after]=a%40b", content=json_body({"t": "é"}), headers={"X-Extra": "1"}
                )
                assert reply.status_code == 429 and not reply.is_success
                assert reply.headers.get("retry-after") == "7"
                assert reply.json()["line"] == "POST /sc/v2/x?page[after]=a%40b HTTP/1.1"
                assert reply.json()["auth"] == httpx.BasicAuth("key", "sécret")._auth_header
                assert json.loads(reply.json()["body"]) == {"t": "é"}
                assert reply.method == "POST" and reply.path == "/sc/v2/x"
        finally:
            await client.aclose()
        with pytest.raises(RuntimeError):
            await client.request("GET", "/")


async def test_a_refused_connection_cannot_have_reached_the_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = _client()
    try:
        with pytest.raises(SendError) as failure:
            await client.request("GET", f"http://127.0.0.1:{port}/")
    finally:
        await client.aclose()
    assert failure.value.name == "ConnectError" and not failure.value.reached


async def test_no_answer_in_time_is_a_read_timeout_that_may_have_reached_it() -> None:
    async for url in _server(_never_answer):
        client = _client(timeout=0.2)
        try:
            with pytest.raises(SendError) as failure:
                await client.request("POST", url + "/", content=b"{}")
        finally:
            await client.aclose()
        assert failure.value.name == "ReadTimeout" and failure.value.reached


async def test_a_dropped_connection_may_have_reached_it() -> None:
    async for url in _server(_hang_up):
        client = _client()
        try:
            with pytest.raises(SendError) as failure:
                await client.request("POST", url + "/", content=b"{}")
        finally:
            await client.aclose()
        assert failure.value.name == "RemoteProtocolError" and failure.value.reached


async def test_with_an_httpx_transport_the_same_reply_and_errors() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/down"):
            raise httpx.ConnectError("refused", request=request)
        if request.url.path.endswith("/slow"):
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(201, json={"auth": request.headers["authorization"]})

    import ssl

    client = OutboundClient(
        transport=httpx.MockTransport(handle),
        base_url="http://sunco.test/sc",
        timeout=1,
        max_connections=2,
        ssl_context=ssl.create_default_context(),
        headers={"Authorization": "Basic x"},
    )
    try:
        reply = await client.request("GET", "/v2/ok")
        assert reply.is_success and reply.json() == {"auth": "Basic x"} and reply.path == "/sc/v2/ok"
        for path, name, reached in (("/down", "ConnectError", False), ("/slow", "ReadTimeout", True)):
            with pytest.raises(SendError) as failure:
                await client.request("GET", path)
            assert (failure.value.name, failure.value.reached) == (name, reached)
    finally:
        await client.aclose()


async def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async for proxy in _server(_answer_json):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "skipped.invalid")
        client = _client()
        try:
            reply = await client.request("GET", "http://sunco.invalid/v2/x?a=1")
            assert reply.json()["line"] == "GET http://sunco.invalid/v2/x?a=1 HTTP/1.1"  # asked of the proxy
            with pytest.raises(SendError) as failure:  # straight to a host that does not exist
                await client.request("GET", "http://skipped.invalid/")
            assert failure.value.name == "ConnectError" and not failure.value.reached
        finally:
            await client.aclose()


async def _redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.invalid/\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(5)


async def test_a_redirect_is_answered_not_followed() -> None:
    async for url in _server(_redirect):
        client = _client()
        try:
            reply = await client.request("POST", url + "/", content=b"{}")
        finally:
            await client.aclose()
        assert reply.status_code == 302 and reply.headers["location"] == "http://elsewhere.invalid/"
