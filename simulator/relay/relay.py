"""The relay (skeleton: filled in by the relay issue)."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulator.clock import Clock
from simulator.config import Settings
from simulator.relay.chat import ChatSink, HandoffRequest
from simulator.relay.store import Store


class Relay:
    def __init__(
        self, settings: Settings, clock: Clock, store: Store, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.transport = transport
        self.sink: ChatSink | None = None

    def attach_sink(self, sink: ChatSink) -> None:
        self.sink = sink

    async def events_endpoint(self, request: Request) -> Response:
        return JSONResponse({"errors": [{"code": "not_implemented"}]}, status_code=501)

    async def status_endpoint(self, request: Request) -> Response:
        return JSONResponse({"errors": [{"code": "not_implemented"}]}, status_code=501)

    async def start_handoff(self, request: HandoffRequest) -> None:
        raise NotImplementedError

    async def user_message(self, session_id: str, text: str, message_id: str) -> None:
        raise NotImplementedError

    async def user_typing(self, session_id: str, typing: bool) -> None:
        raise NotImplementedError

    async def user_ended(self, session_id: str) -> None:
        raise NotImplementedError

    async def is_handed_off(self, session_id: str) -> bool:
        return False

    async def startup(self) -> None:
        await self.store.open()

    async def shutdown(self) -> None:
        pass

    async def reset(self) -> None:
        pass
