"""A small fake SunCo (httpx.MockTransport) and a recording chat sink for the relay's tests."""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulator.clock import Clock
from simulator.relay.chat import ChatEvent

# ListMessages, optionally after a cursor (`page[after]`, brackets encoded or not).
LIST_MESSAGES = re.compile(r"/conversations/([^/]+)/messages(?:\?page(?:\[|%5B)after(?:\]|%5D)=(.+))?")


@dataclass
class Recorded:
    method: str
    path: str  # relative to /v2/apps/{appId}
    body: Any
    at: float  # clock.monotonic() when it arrived
    status: int = 0


@dataclass
class Failure:
    status: int | None  # None: raise a transport error instead
    times: int | None  # None: until cleared
    path: str
    retry_after: str | None = None
    # "refuse": answer `status` without doing anything; "timeout": time out reading the answer
    # (httpx.ReadTimeout) without doing anything; "lost_reply": do it, then time out; "hang": do it,
    # then never answer (until the caller is cancelled).
    mode: str = "refuse"
    method: str | None = None  # only requests with this method (None: any)


@dataclass
class FakeSunCo:
    """Just the SunCo v2 endpoints the relay calls, with failure injection."""

    app_id: str
    key_id: str
    key_secret: str
    clock: Clock
    requests: list[Recorded] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # externalId -> id
    conversations: dict[str, str] = field(default_factory=dict)  # id -> user id
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # conversation -> messages
    failures: list[Failure] = field(default_factory=list)
    # GET /conversations/{id} answered (who has control) instead of 404, so the relay's checks of a
    # quiet session read its messages too (off by default: other tests count those reads).
    answers_conversation_reads: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(
        self,
        status: int | None = 500,
        times: int | None = 1,
        *,
        path: str = "",
        retry_after: str | None = None,
        mode: str = "refuse",
        method: str | None = None,
    ) -> None:
        """Answer the next `times` requests whose path contains `path` with `status` (None: transport error).

        `mode="timeout"`: a read timeout, nothing done. `"lost_reply"` / `"hang"`: the request takes
        effect, but its answer times out / never comes.
        """
        self.failures.append(Failure(status, times, path, retry_after, mode, method))

    def heal(self) -> None:
        """Stop failing."""
        self.failures.clear()

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    async def handle(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/sc/v2/apps/{self.app_id}"
        assert request.url.path.startswith(prefix), request.url.path
        path = request.url.path[len(prefix) :]
        if request.url.query:
            path += "?" + request.url.query.decode()
        body = json.loads(request.content) if request.content else None
        record = Recorded(request.method, path, body, self.clock.monotonic())
        self.requests.append(record)
        expected = "Basic " + base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return self._answer(record, 401, {"errors": [{"code": "unauthorized", "title": "bad key"}]})
        for failure in self.failures:
            if failure.method not in (None, request.method):
                continue
            if failure.path in path and (failure.times is None or failure.times > 0):
                if failure.times is not None:
                    failure.times -= 1
                if failure.mode != "refuse":
                    if failure.mode != "timeout":
                        self._route(record, request.method, path, body)
                    if failure.mode == "hang":
                        await self.clock.sleep(10**9)
                    raise httpx.ReadTimeout("no answer", request=request)
                if failure.status is None:
                    record.status = -1
                    raise httpx.ConnectError("connection refused", request=request)
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                error = {"errors": [{"code": "injected", "title": "injected failure"}]}
                return self._answer(record, failure.status, error, headers)
        return self._route(record, request.method, path, body)

    def _answer(
        self, record: Recorded, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        record.status = status
        return httpx.Response(status, json=body, headers=headers)

    def _route(self, record: Recorded, method: str, path: str, body: Any) -> httpx.Response:
        if method == "POST" and path == "/users":
            external = body["externalId"]
            if external in self.users:
                return self._answer(record, 409, {"errors": [{"code": "conflict", "title": "user exists"}]})
            self.users[external] = self._new_id("usr")
            return self._answer(record, 201, {"user": {"id": self.users[external], "externalId": external}})
        if method == "GET" and (m := re.fullmatch(r"/users/([^/]+)", path)):
            external = m.group(1)
            if external not in self.users:
                return self._answer(record, 404, {"errors": [{"code": "not_found"}]})
            return self._answer(record, 200, {"user": {"id": self.users[external], "externalId": external}})
        if method == "POST" and path == "/conversations":
            conversation = self._new_id("conv")
            self.conversations[conversation] = body["participants"][0]["userId"]
            self.messages[conversation] = []
            return self._answer(record, 201, {"conversation": {"id": conversation, "type": "personal"}})
        if method == "GET" and (m := LIST_MESSAGES.fullmatch(path)):
            messages = self.messages.get(m.group(1), [])
            if m.group(2):  # messages after a cursor (SunCo's page[after])
                ids = [message["id"] for message in messages]
                if m.group(2) not in ids:
                    return self._answer(record, 400, {"errors": [{"code": "bad_request", "title": "unknown cursor"}]})
                return self._answer(record, 200, {"messages": messages[ids.index(m.group(2)) + 1 :][:100], "meta": {}})
            return self._answer(record, 200, {"messages": messages[-100:], "meta": {}})
        if self.answers_conversation_reads and method == "GET" and (m := re.fullmatch(r"/conversations/([^/]+)", path)):
            if m.group(1) not in self.conversations:
                return self._answer(record, 404, {"errors": [{"code": "not_found"}]})
            control = [
                r.path
                for r in self.requests
                if r.path.startswith(f"/conversations/{m.group(1)}/")
                and r.path.endswith(("/passControl", "/releaseControl"))
                and 200 <= r.status < 300
            ]
            with_agents = bool(control) and control[-1].endswith("/passControl")
            active = {"name": "zd-agentWorkspace"} if with_agents else None
            conversation = {"id": m.group(1), "type": "personal", "activeSwitchboardIntegration": active}
            return self._answer(record, 200, {"conversation": conversation})
        m = re.fullmatch(r"/conversations/([^/]+)/(messages|activity|passControl|releaseControl)", path)
        if method == "POST" and m:
            conversation, action = m.groups()
            if conversation not in self.conversations:
                return self._answer(record, 404, {"errors": [{"code": "not_found"}]})
            if action == "messages":
                message = {"id": self._new_id("msg"), "received": self._received(), **body}
                self.messages[conversation].append(message)
                return self._answer(record, 201, {"messages": [message]})
            if action == "activity" and body["author"]["type"] == "user" and body["type"] != "conversation:read":
                return self._answer(record, 400, {"errors": [{"code": "bad_request"}]})
            return self._answer(record, 200, {})
        return self._answer(record, 404, {"errors": [{"code": "not_found", "title": path}]})

    def _received(self) -> str:
        return self.clock.now().isoformat().replace("+00:00", "Z")

    def agent_posts(self, conversation: str, text: str, agent_id: str = "agent-7") -> dict[str, Any]:
        """An agent reply stored in the conversation (its webhook is up to the test)."""
        message = {
            "id": self._new_id("msg"),
            "received": self._received(),
            "author": {"type": "business", "displayName": "Sam Agent", "avatarUrl": "https://x.test/sam.png"},
            "content": {"type": "text", "text": text},
            "source": {"type": "zd:agentWorkspace"},
            "metadata": {"__zendesk_msg.agent.id": agent_id},
        }
        self.messages[conversation].append(message)
        return message

    # --- views for assertions ---

    def calls(self, suffix: str) -> list[Recorded]:
        """Successful calls whose path ends with `suffix`."""
        return [r for r in self.requests if r.path.endswith(suffix) and 200 <= r.status < 300]

    def texts(self, conversation: str, author_type: str | None = None) -> list[str]:
        return [
            m["content"]["text"]
            for m in self.messages.get(conversation, [])
            if author_type is None or m["author"]["type"] == author_type
        ]


class RecordingSink:
    """A ChatSink that remembers every event per session."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ChatEvent]] = []

    async def deliver(self, session_id: str, event: ChatEvent) -> None:
        self.events.append((session_id, event))

    def of(self, session_id: str) -> list[ChatEvent]:
        return [event for sid, event in self.events if sid == session_id]

    def types(self, session_id: str) -> list[str]:
        return [event.type for event in self.of(session_id)]

    def payloads(self, session_id: str, event_type: str) -> list[dict[str, Any]]:
        return [event.payload for event in self.of(session_id) if event.type == event_type]
