"""The SunCo v2 REST calls the relay makes, with retries on 429, 5xx and transport errors."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from simulator.clock import Clock
from simulator.config import Settings
from simulator.logs import kv
from simulator.outbound import OutboundClient, Reply, SendError, basic_auth, json_body
from simulator.relay.webhooks import secret_text
from simulator.trace import Trace

log = logging.getLogger("simulator.relay.sunco")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

AGENT_WORKSPACE = "zd-agentWorkspace"
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
# A Retry-After longer than this is treated as "give up on this call" (the caller retries later).
RETRY_AFTER_CAP_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 10.0
# Metadata key carrying the relay's own id for each message it posts (found again after a lost reply).
MESSAGE_ID_KEY = "polyai_message_id"
_CONVERSATION_IN_PATH = re.compile(r"/conversations/([^/?]+)")
_JSON = {"Content-Type": "application/json"}


class ApiError(Exception):
    """A call to one of Zendesk's APIs failed. `status` is None for transport errors and timeouts."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        # The Retry-After (seconds) of the last 429, for callers that retry later themselves.
        self.retry_after = retry_after
        # A transport error's own words (which address refused, or why), for the log line.
        self.detail = detail

    @classmethod
    def refused(cls, call: str, reply: Reply) -> Self:
        """The error for a non-2xx answer: 429 and 5xx are worth another try (after Retry-After, if given)."""
        status = reply.status_code
        retry_after = _retry_after(reply) if status == 429 else None
        return cls(f"{call}: HTTP {status}", status, retryable=status == 429 or status >= 500, retry_after=retry_after)


class SunCoError(ApiError):
    """A SunCo call failed. `status` is None for transport errors and timeouts."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, status, retryable=retryable, retry_after=retry_after, detail=detail)
        # No answer, but the request may have reached SunCo and taken effect (e.g. a read timeout).
        self.maybe_delivered = maybe_delivered


class _User(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str


class _UserBody(BaseModel):
    user: _User


class _Conversation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str


class _ConversationBody(BaseModel):
    conversation: _Conversation


class _ConversationList(BaseModel):
    conversations: list[_Conversation]


class _MessageList(BaseModel):
    messages: list[_Conversation]  # only `id` is read


class _RawMessages(BaseModel):
    messages: list[dict[str, Any]]


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Capped exponential backoff with jitter for retry number `attempt` (1-based)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def _retry_after(response: Reply) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


class ApiClient:
    """What the relay's clients of Zendesk's APIs share: one outbound HTTP client, at most
    RELAY_SUNCO_MAX_CONCURRENCY requests in flight (the rest queue here, untimed, so a burst never
    ends in pool timeouts that burn retry attempts), and retries with backoff or Retry-After."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        *,
        base_url: str,
        headers: dict[str, str],
        rng: random.Random | None = None,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.trace = trace or Trace(clock, size=0)
        cap = settings.relay_sunco_max_concurrency
        self._slots = asyncio.Semaphore(cap)
        self._http = OutboundClient(
            base_url=base_url,
            headers=headers,
            transport=transport,
            timeout=REQUEST_TIMEOUT_SECONDS,
            max_connections=cap,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    @property
    def saturated(self) -> bool:
        """Every slot is taken and further calls queue: background checks wait for a quieter moment."""
        return self._slots.locked()

    async def _retrying(
        self, call: str, once: Callable[[], Awaitable[T]], attempts: int, *, event: str = "relay.sunco.error"
    ) -> T:
        """Run `once` until it succeeds, retrying retryable failures with backoff (or Retry-After)."""
        for attempt in range(1, attempts + 1):
            try:
                return await once()
            except ApiError as error:
                # No status means a transport error or timeout: the line names it (e.g. ConnectError).
                transport = str(error).rsplit(": ", 1)[-1] if error.status is None else None
                log.warning(
                    kv(event, call=call, status=error.status, error=transport, attempt=attempt, detail=error.detail)
                )
                delay = error.retry_after
                if not error.retryable or attempt >= attempts:
                    raise
                if delay is not None and delay > RETRY_AFTER_CAP_SECONDS:
                    raise  # not worth waiting here; the caller's own retry takes over
            await self.clock.sleep(delay if delay is not None else backoff_delay(attempt, self.rng))
        raise AssertionError("unreachable")  # pragma: no cover


class SunCoClient(ApiClient):
    """A thin client for `/v2/apps/{appId}/...`; every call retries per the settings."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        *,
        rng: random.Random | None = None,
        trace: Trace | None = None,
    ) -> None:
        # Every session's outbox and handoff shares this client.
        auth = basic_auth(settings.zendesk_key_id, secret_text(settings.zendesk_key_secret))
        headers = {"Authorization": auth}
        super().__init__(settings, clock, transport, base_url=settings.sunco_url, headers=headers, rng=rng, trace=trace)
        self._prefix = f"/v2/apps/{settings.zendesk_app_id}"

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, max_attempts: int | None = None
    ) -> Reply:
        """Call SunCo; return the 2xx response or raise `SunCoError` after the allowed attempts.

        Only for calls that are safe to repeat (see `post_message` for the one that is not)."""
        attempts = max_attempts or self.settings.relay_sunco_max_attempts
        return await self._retrying(f"{method} {path}", lambda: self._attempt(method, path, body), attempts)

    async def _attempt(self, method: str, path: str, body: dict[str, Any] | None = None) -> Reply:
        """One try: the 2xx response, or `SunCoError`."""
        content = None if body is None else json_body(body)
        await self._slots.acquire()  # waiting for a slot is no part of the attempt, its timeout or its latency
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, self._prefix + path, content=content, headers=_JSON if content is not None else None
            )
        except SendError as exc:  # timeouts and transport errors may succeed next time
            self._traced(method, path, body, None, started, error=exc.name)
            # A failure before the request can have reached SunCo (refused, connect timeout): sending
            # again cannot duplicate it. Any other (a read timeout, a dropped connection) may come after SunCo acted.
            raise SunCoError(
                f"{method} {path}: {exc.name}", None, retryable=True, maybe_delivered=exc.reached, detail=exc.detail
            ) from None
        finally:
            self._slots.release()
        self._traced(method, path, body, response, started)
        if response.is_success:
            return response
        raise SunCoError.refused(f"{method} {path}", response)

    def _traced(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        response: Reply | None,
        started: float,
        *,
        error: str | None = None,
    ) -> None:
        if not self.trace.enabled:
            return
        ms = (time.perf_counter() - started) * 1000
        answer: Any = None
        if response is not None:
            try:
                answer = response.json()
            except ValueError:
                answer = response.text[:500]
        found = _CONVERSATION_IN_PATH.search(path)
        status = None if response is None else response.status_code
        self.trace.note(
            "sunco.call",
            f"{method} {self._prefix}{path} " + (str(status) if status is not None else error or "no answer"),
            conversation=found.group(1) if found else None,
            status=status,
            ms=ms,
            data={"method": method, "path": self._prefix + path, "request": body, "response": answer, "error": error},
        )

    # --- the calls ---

    async def ensure_user(self, external_id: str, profile: dict[str, str]) -> str:
        """Create the user (or find it by externalId when it already exists); return its id."""
        body: dict[str, Any] = {"externalId": external_id}
        if profile:
            body["profile"] = profile
        try:
            response = await self.request("POST", "/users", body)
        except SunCoError as exc:
            if exc.status != 409:
                raise
            response = await self.request("GET", f"/users/{quote(external_id, safe='')}")
        return _parse(_UserBody, response).user.id

    async def ensure_conversation(self, user_id: str) -> str:
        """Create a personal conversation for the user, or reuse one when SunCo says it exists (409)."""
        body = {"type": "personal", "participants": [{"userId": user_id, "subscribeSDKClient": False}]}
        try:
            response = await self.request("POST", "/conversations", body)
        except SunCoError as exc:
            if exc.status != 409:
                raise
            listing = await self.request("GET", f"/conversations?filter[userId]={user_id}")
            conversations = _parse(_ConversationList, listing).conversations
            if not conversations:
                raise SunCoError("POST /conversations: 409 but the user has no conversation", 409) from None
            return conversations[0].id
        return _parse(_ConversationBody, response).conversation.id

    async def post_message(
        self,
        conversation_id: str,
        author: dict[str, Any],
        text: str,
        metadata: dict[str, Any],
        *,
        maybe_posted: bool = False,
        content: dict[str, Any] | None = None,
    ) -> str:
        """Post a text message (or `content`, e.g. an image); return its SunCo message id.

        Posting is not idempotent, so after an attempt that may have reached SunCo unanswered (or
        when `maybe_posted` says an earlier try may have, e.g. before a restart) the conversation's
        recent messages are searched for `metadata[MESSAGE_ID_KEY]` first, and a match is taken as
        the posted message instead of posting it again. A 5xx answer counts as unanswered: a
        gateway or SunCo itself may fail after the message was stored, so the retry looks first.
        """
        body = {"author": author, "content": content or {"type": "text", "text": text}, "metadata": metadata}
        path = f"/conversations/{conversation_id}/messages"
        key = str(metadata.get(MESSAGE_ID_KEY) or "")
        unsure = maybe_posted and bool(key)

        async def once() -> str:
            nonlocal unsure
            if unsure:
                found = await self.posted(conversation_id, key)
                if found is not None:
                    log.info(kv("relay.sunco.already_posted", conversation=conversation_id, message=found))
                    return found
                unsure = False
            try:
                response = await self._attempt("POST", path, body)
            except SunCoError as exc:
                unsure = (exc.maybe_delivered or (exc.status or 0) >= 500) and bool(key)
                raise
            messages = _parse(_MessageList, response).messages
            return messages[0].id if messages else ""

        return await self._retrying(f"POST {path}", once, self.settings.relay_sunco_max_attempts)

    async def posted(self, conversation_id: str, *keys: str) -> str | None:
        """The id of a recent message the relay posted under one of `keys` (relay message ids), if
        SunCo has one (one attempt: raises `SunCoError` when SunCo cannot be read)."""
        response = await self._attempt("GET", f"/conversations/{conversation_id}/messages")
        for message in _messages(response):
            if str((message.get("metadata") or {}).get(MESSAGE_ID_KEY, "")) in keys:
                return str(message.get("id", ""))
        return None

    async def recent_messages(self, conversation_id: str, *, after: str | None = None) -> list[dict[str, Any]]:
        """The conversation's messages, oldest first (two attempts at most): the most recent page, or
        with `after` a message id, the page of messages that came after it."""
        path = f"/conversations/{conversation_id}/messages"
        if after:
            path += f"?page[after]={quote(after, safe='')}"
        response = await self.request("GET", path, max_attempts=2)
        return _messages(response)

    async def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """The conversation as SunCo has it now (its active switchboard integration among others)."""
        response = await self.request("GET", f"/conversations/{conversation_id}", max_attempts=2)
        try:
            body = response.json()
        except ValueError:
            raise SunCoError(f"GET /conversations/{conversation_id}: unexpected body") from None
        conversation = body.get("conversation") if isinstance(body, dict) else None
        if not isinstance(conversation, dict):
            raise SunCoError(f"GET /conversations/{conversation_id}: unexpected body")
        return conversation

    async def post_activity(self, conversation_id: str, activity: str, author: dict[str, Any]) -> None:
        """Post an activity (best effort: one attempt)."""
        body = {"type": activity, "author": author}
        await self.request("POST", f"/conversations/{conversation_id}/activity", body, max_attempts=1)

    async def pass_control(self, conversation_id: str, metadata: dict[str, Any]) -> None:
        """Pass control of the conversation to Zendesk Agent Workspace."""
        body = {"switchboardIntegration": AGENT_WORKSPACE, "metadata": metadata}
        await self.request("POST", f"/conversations/{conversation_id}/passControl", body)

    async def release_control(self, conversation_id: str, *, max_attempts: int | None = None) -> None:
        """Release control: the next user message goes to the default integration (the bot)."""
        await self.request("POST", f"/conversations/{conversation_id}/releaseControl", {}, max_attempts=max_attempts)


def _messages(response: Reply) -> list[dict[str, Any]]:
    """A message listing's `messages`, each a JSON object (`SunCoError` otherwise). Checked in
    place: validating them as `_RawMessages` only copied each message the caller validates anyway."""
    try:
        body = response.json()
    except ValueError:
        body = None
    messages = body.get("messages") if isinstance(body, dict) else None
    if isinstance(messages, list) and all(isinstance(message, dict) for message in messages):
        return messages
    return _parse(_RawMessages, response).messages  # refused, in pydantic's words as before


def _parse(model: type[M], response: Reply) -> M:
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise SunCoError(f"{response.method} {response.path}: unexpected body: {exc}") from None
