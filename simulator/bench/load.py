"""The load generator: N end users each hand off to a Zendesk agent and trade M messages each way.

It speaks only the public protocols (the widget's messaging API and the agent control plane), so it
runs against any running simulator, or a relay deployed elsewhere with the emulator in front. What
the agent's side received is read from the tickets' transcripts (the emulator's own record);
in-process, a listener on the emulator timestamps arrivals exactly instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any, TextIO

import httpx
from faker import Faker
from pydantic import BaseModel

from simulator.app import SimulatorApp
from simulator.bench.capped import CappedTransport
from simulator.bench.sockets import UserClient, websockets_socket
from simulator.bench.stats import percentile, rounded
from simulator.config import Settings
from simulator.scenarios.actors import EndUser, JsonSocket, event_text
from simulator.zendesk.models import Message

HANDOFF_TEXT = "talk to a human"
ACCEPTED = "EVENT_TYPE_HANDOFF_ACCEPTED"
AGENT_MESSAGE = "EVENT_TYPE_LIVE_AGENT_MESSAGE"
CONNECT_ATTEMPTS = 3
CONNECT_CONCURRENCY = 50  # the server's listen backlog is 128: don't knock on it 1,000 times at once
# The widget allows 120 sessions a minute per access token and 120 access tokens a minute per
# connector token: a new access token every 100 users stays inside both.
USERS_PER_ACCESS_TOKEN = 100
USERS_PER_CLIENT = 100  # end users sharing one HTTP client (and its connection pool)
# The agent side's requests in flight at once. More only lengthens httpcore's pool bookkeeping, which
# walks every connection for every queued request; the rest wait on a semaphore.
AGENT_CONNECTIONS = 16


class LoadResult(BaseModel):
    """What one load run measured. Latencies in milliseconds; None where nothing was measured."""

    conversations: int
    messages_each_way: int
    handoffs_started_within_seconds: float
    handoffs_completed: int
    handoffs_all_done_seconds: float | None
    handoff_p50_ms: float | None
    handoff_p99_ms: float | None
    messages_sent: int
    messages_delivered: int
    messages_lost: int
    messages_reordered: int
    messages_duplicated: int
    messages_per_second: float | None
    p50_user_to_agent_ms: float | None
    p99_user_to_agent_ms: float | None
    p50_agent_to_user_ms: float | None
    p99_agent_to_user_ms: float | None
    wall_seconds: float
    errors: list[str]
    # Wall-clock (epoch) seconds from the first message sent to the last one arriving.
    messages_window: tuple[float, float] | None = None
    # Seconds each side "types" before each message (0: as fast as the server answers, a throughput
    # test in which p99 measures the backlog); with a think time the rate is the offered one.
    think_seconds: float = 0.0
    # Each conversation's next exchange waited until its user had the agent's last message (one
    # message each way in flight per conversation, as the bare chain's senders keep one request).
    closed: bool = False
    # Set by the bench when its process is the server's alone (clients in a child): the server's CPU
    # over the whole run, and per message delivered within `messages_window`.
    server_cpu_seconds: float | None = None
    server_cpu_ms_per_message: float | None = None


class Progress:
    """A one-line progress bar on stderr (redrawn at most 10 times a second)."""

    def __init__(self, out: TextIO | None = sys.stderr) -> None:
        self.out = out
        # Redrawn in place on a terminal; elsewhere (CI logs, files) one line per phase.
        self._live = bool(out is not None and out.isatty())
        self._label = ""
        self._total = 0
        self.done = 0
        self._drawn = 0.0

    def start(self, label: str, total: int) -> None:
        self._label, self._total, self.done = label, total, 0
        self._draw(force=True)

    def step(self, count: int = 1) -> None:
        self.done += count
        self._draw(force=self.done >= self._total)

    def finish(self) -> None:
        self._live, live = True, self._live
        self._draw(force=True)
        self._live = live
        if self.out is not None:
            print(file=self.out, flush=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.out is None or not self._live or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        width = 30
        filled = width * self.done // self._total if self._total else width
        bar = "#" * filled + "." * (width - filled)
        print(f"\r{self._label:<28} [{bar}] {self.done}/{self._total}", end="", file=self.out, flush=True)


_KINDS: dict[frozenset[str], frozenset[str]] = {}
_NO_IDS: set[str] = set()  # shared and never filled: a webchat user does not dedupe (`EndUser._dedupe`)


class LoadUser(EndUser):
    """An end user that timestamps what it receives (every copy, before the actor's deduplication).

    It keeps only what the load reads (the event types seen, agent texts with their arrival times),
    not every event as the scenario actor does: its memory counts in the bench's memory figure.
    """

    # The WebSocket client (a class default: each load user's own attribute would count in the memory
    # figure). The latency part's one user measures with `websockets` (`simulator.bench.sockets`).
    user_client: UserClient = "httpx-ws"

    def __init__(self, client: httpx.AsyncClient, settings: Settings, name: str, index: int) -> None:
        super().__init__(client, settings, name)
        self._ids = _NO_IDS  # the actor's dedupe set: never used on webchat (216 bytes a user otherwise)
        self.index = index
        # Set on every event while someone waits in `until` (an Event is ~1 KB: none while idle).
        self._changed: asyncio.Event | None = None
        self._waiting = 0
        self.agent_texts: list[tuple[str, float]] = []
        # The event types seen: one shared frozenset per combination (users see the same few), not a
        # set each (728 bytes past four types).
        self.kinds: frozenset[str] = frozenset()
        self.ticket_id: int | None = None
        self.email = ""

    def _opening(self, url: str) -> contextlib.AbstractAsyncContextManager[JsonSocket]:
        if self.user_client == "websockets":
            return websockets_socket(self.client.base_url, url)
        return super()._opening(url)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "EVENT_TYPE_EVENT_BATCH":
            for inner in (event.get("payload") or {}).get("events", []):
                self._take(inner)
            return
        if kind == AGENT_MESSAGE:
            self.agent_texts.append((event_text(event), time.perf_counter()))
        if isinstance(kind, str) and kind not in self.kinds:
            wider = self.kinds | {kind}
            self.kinds = _KINDS.setdefault(wider, wider)
        if isinstance(event.get("sequence"), int):
            self._last_sequence = max(self._last_sequence, event["sequence"])
        if self._changed is not None:
            self._changed.set()

    async def open_session(self, access_token: str, profile: dict[str, str]) -> None:
        """Like `connect`, with an access token shared by several users: the widget rate-limits
        access tokens per connector token (and sessions per access token), as a real one does."""
        self.access_token = access_token
        response = await self.client.post(
            "/widget/api/v1/sessions",
            headers={"Authorization": f"Bearer {access_token}"},
            json={"platform": "web", "user": profile},
        )
        response.raise_for_status()
        self.session_id = response.json()["session_id"]
        await self._open(cursor=0)

    def saw(self, event_type: str) -> bool:
        return event_type in self.kinds

    def has_agent_text(self, text: str) -> bool:
        """Whether the agent's message `text` has reached this user."""
        return any(seen == text for seen, _ in reversed(self.agent_texts))

    async def until(self, check: Callable[[], bool], deadline: float) -> bool:
        """Wait until `check()` holds or the perf_counter deadline passes."""
        if check():
            return True
        if self._changed is None:
            self._changed = asyncio.Event()
        self._waiting += 1
        try:
            return await _until(self._changed, check, deadline)
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._changed = None


async def _until(changed: asyncio.Event, check: Callable[[], bool], deadline: float) -> bool:
    """Wait until `check()` holds, waking each time `changed` is set, or the perf_counter deadline passes."""
    while not check():
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return False
        changed.clear()
        # `asyncio.timeout`, not `wait_for`: on 3.11 `wait_for` wraps the wait in a task, and the bench's
        # own waiting runs on the server's thread, inside the path it measures.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                await changed.wait()
    return True


async def _find_tickets(agent_http: httpx.AsyncClient, handed: list[LoadUser]) -> None:
    """Set each user's `ticket_id` from the agent's ticket list (by the unique requester email). A
    function of its own: the listing (a KB or so per conversation) is not kept alive by the load's
    frame while the idle conversations' memory is measured."""
    by_email: dict[str, int] = {}
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        response = await agent_http.get("/_sim/agent/tickets")
        response.raise_for_status()
        by_email = {t["requester"]["email"]: t["id"] for t in response.json()["tickets"] if t["requester"]["email"]}
        if all(user.email in by_email for user in handed):
            break
        await asyncio.sleep(0.2)
    for user in handed:
        user.ticket_id = by_email.get(user.email)


def _texts(index: int, direction: str, count: int) -> list[str]:
    return [f"load {index} {direction} {i}" for i in range(count)]


def _order_figures(expected: list[str], received: list[str]) -> tuple[int, int, int]:
    """(lost, reordered, duplicated) of `received` against `expected` (each text unique)."""
    position = {text: i for i, text in enumerate(expected)}
    seen: set[str] = set()
    duplicated = reordered = 0
    highest = -1
    for text in received:
        if text not in position:
            continue
        if text in seen:
            duplicated += 1
            continue
        seen.add(text)
        if position[text] < highest:
            reordered += 1
        highest = max(highest, position[text])
    return len(expected) - len(seen), reordered, duplicated


class ArrivalLog:
    """When user messages reached the SunCo emulator (in-process only: exact perf_counter times)."""

    def __init__(self, sim: SimulatorApp) -> None:
        self.times: dict[str, float] = {}
        self.changed = asyncio.Event()
        self._sim = sim
        self._sim.zendesk.conversations.listeners.append(self._heard)

    async def _heard(self, conversation: Any, message: Message) -> None:
        if message.author.type == "user" and message.content.text:
            self.times.setdefault(message.content.text, time.perf_counter())
            self.changed.set()

    async def wait_for(self, texts: set[str], deadline: float) -> bool:
        """Wait until every text in `texts` has arrived, or the perf_counter deadline passes."""
        return await _until(self.changed, lambda: texts <= self.times.keys(), deadline)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self._sim.zendesk.conversations.listeners.remove(self._heard)


async def run_load(
    base_url: str,
    settings: Settings,
    *,
    conversations: int,
    messages: int,
    ramp: float = 1.0,
    sim: SimulatorApp | None = None,
    progress: Progress | None = None,
    on_idle: Callable[[], Awaitable[None]] | None = None,
    handoff_timeout: float = 60.0,
    delivery_timeout: float = 120.0,
    seed: int = 12,
    think: float = 0.0,
    closed: bool = False,
) -> LoadResult:
    """Run the load against the simulator at `base_url` (`sim` when it is in this process).

    `on_idle` is awaited once every handoff has completed and before any message is sent: the
    conversations are then handed off and idle (the memory figure is taken there). `think`: seconds
    (0.5-1.5x, at random) each conversation waits before each user message, as people type.
    `closed`: each conversation's next exchange waits until its user has the agent's last message
    (else the agent posts the next as soon as Zendesk has stored the last, and messages queue).
    """
    progress = progress or Progress(None)
    started_run = time.perf_counter()
    errors: list[str] = []
    fake = Faker()
    fake.seed_instance(seed)
    arrivals = ArrivalLog(sim) if sim is not None else None
    unlimited = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(30.0, pool=None)  # waiting for a pooled connection is queueing, not failing
    async with (
        contextlib.AsyncExitStack() as clients,
        httpx.AsyncClient(
            base_url=base_url, transport=CappedTransport(AGENT_CONNECTIONS), timeout=timeout
        ) as agent_http,
    ):
        # A client per USERS_PER_CLIENT users: each WebSocket stays a connection of its client's pool,
        # and httpcore walks every connection of a pool for every request (at 5,000 users in one
        # pool, opening the sessions slowed to a few a second).
        shared = [
            await clients.enter_async_context(httpx.AsyncClient(base_url=base_url, limits=unlimited, timeout=timeout))
            for _ in range(max(1, -(-conversations // USERS_PER_CLIENT)))
        ]
        users_http = shared[0]
        users = [LoadUser(shared[i // USERS_PER_CLIENT], settings, f"load-{i}", i) for i in range(conversations)]
        try:
            return await _run(
                users,
                users_http,
                settings,
                agent_http,
                fake,
                messages,
                ramp,
                arrivals,
                progress,
                on_idle,
                handoff_timeout,
                delivery_timeout,
                errors,
                started_run,
                think=think,
                closed=closed,
            )
        finally:
            await asyncio.gather(*(user.close() for user in users), return_exceptions=True)
            if arrivals is not None:
                arrivals.close()


async def _run(
    users: list[LoadUser],
    users_http: httpx.AsyncClient,
    settings: Settings,
    agent_http: httpx.AsyncClient,
    fake: Faker,
    messages: int,
    ramp: float,
    arrivals: ArrivalLog | None,
    progress: Progress,
    on_idle: Callable[[], Awaitable[None]] | None,
    handoff_timeout: float,
    delivery_timeout: float,
    errors: list[str],
    started_run: float,
    *,
    think: float = 0.0,
    closed: bool = False,
) -> LoadResult:
    count = len(users)

    def failed(what: str, exc: BaseException) -> None:
        if len(errors) < 20:
            errors.append(f"{what}: {exc!r}"[:300])

    # 1. Connect every user and open the widget (not timed: the handoff is what is measured).
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    progress.start("connecting users", count)
    tokens: list[str] = []
    for _ in range(0, count, USERS_PER_ACCESS_TOKEN):
        response = await users_http.post(
            "/widget/api/v1/access-token",
            headers={
                "X-Token": settings.polyai_connector_token.get_secret_value(),
                "X-Host": settings.polyai_widget_host,
            },
            json={},
        )
        response.raise_for_status()
        tokens.append(response.json()["access_token"])

    async def connect(user: LoadUser) -> None:
        name = fake.name()
        slug = "".join(c for c in name.lower().replace(" ", ".") if c.isalnum() or c == ".")
        user.email = f"{slug}.{user.index}@example.test"  # unique: it finds the user's ticket
        async with gate:
            for attempt in range(1, CONNECT_ATTEMPTS + 1):
                try:
                    await user.open_session(
                        tokens[user.index // USERS_PER_ACCESS_TOKEN], {"name": name, "email": user.email}
                    )
                    await user.join()
                    break
                except Exception as exc:
                    # A pooled keep-alive connection the server closed just as it was reused
                    # ("Server disconnected without sending a response"): set-up, not a message.
                    await user.close()
                    user.session_id = None
                    if attempt == CONNECT_ATTEMPTS:
                        failed(f"connect {user.name}", exc)
        progress.step()

    await asyncio.gather(*(connect(user) for user in users))
    progress.finish()
    live = [user for user in users if user.session_id is not None and user._ws is not None]

    # 2. Start every handoff within `ramp` seconds; each must complete within `handoff_timeout`.
    progress.start("handoffs", len(live))
    handoff_ms: list[float] = []
    begun = time.perf_counter()
    done_at: list[float] = []

    async def hand_off(user: LoadUser, offset: float) -> None:
        await asyncio.sleep(offset)
        started = time.perf_counter()
        try:
            await user.say(HANDOFF_TEXT)
        except Exception as exc:
            failed(f"handoff {user.name}", exc)
            return
        if await user.until(lambda: user.saw(ACCEPTED), started + handoff_timeout):
            now = time.perf_counter()
            handoff_ms.append((now - started) * 1000)
            done_at.append(now)
            progress.step()

    spread = ramp / max(1, len(live))
    await asyncio.gather(*(hand_off(user, i * spread) for i, user in enumerate(live)))
    progress.finish()
    started_within = max(ramp, spread * (len(live) - 1))
    handed = [user for user in live if user.saw(ACCEPTED)]
    if len(handed) < len(live):
        errors.append(f"{len(live) - len(handed)} handoffs did not complete within {handoff_timeout:.0f} s")

    # 3. Find each user's ticket (by the unique requester email), once every handoff is in.
    await _find_tickets(agent_http, handed)
    ready = [user for user in handed if user.ticket_id is not None]

    if on_idle is not None:
        await on_idle()

    # 4. The agent accepts every ticket.
    progress.start("agents accepting", len(ready))

    async def accept(user: LoadUser) -> None:
        try:
            response = await agent_http.post(f"/_sim/agent/tickets/{user.ticket_id}/accept", json={"agent_name": "Sam"})
            response.raise_for_status()
        except Exception as exc:
            failed(f"accept ticket {user.ticket_id}", exc)
        progress.step()

    await asyncio.gather(*(accept(user) for user in ready))
    progress.finish()

    # 5. M messages each way per conversation, user and agent taking turns.
    sent_user: dict[str, tuple[float, float]] = {}  # text -> (perf_counter, wall time) at send
    sent_agent: dict[str, float] = {}
    first_send, first_send_wall = time.perf_counter(), time.time()
    if messages:
        progress.start("messages sent", len(ready) * messages * 2)

        async def chat(user: LoadUser) -> None:
            pace = random.Random(user.index)
            for mine, theirs in zip(_texts(user.index, "u", messages), _texts(user.index, "a", messages), strict=True):
                if think:
                    await asyncio.sleep(think * pace.uniform(0.5, 1.5))
                try:
                    sent_user[mine] = (time.perf_counter(), time.time())
                    await user.say(mine)
                    progress.step()
                    sent_agent[theirs] = time.perf_counter()
                    path = f"/_sim/agent/tickets/{user.ticket_id}/messages"
                    response = await agent_http.post(path, json={"text": theirs})
                    response.raise_for_status()
                    progress.step()
                    if closed:
                        await user.until(partial(user.has_agent_text, theirs), time.perf_counter() + delivery_timeout)
                except Exception as exc:
                    failed(f"chat {user.name}", exc)
                    return

        await asyncio.gather(*(chat(user) for user in ready))
        progress.finish()

    # 6. Wait for everything to arrive: agent messages on the users' sockets, user messages at SunCo.
    deadline = time.perf_counter() + delivery_timeout
    expected_agent = {user.index: _texts(user.index, "a", messages) for user in ready}
    progress.start("agent messages arriving", len(ready))

    async def settled(user: LoadUser) -> None:
        wanted = set(expected_agent[user.index])
        await user.until(lambda: wanted <= {text for text, _ in user.agent_texts}, deadline)
        progress.step()

    await asyncio.gather(*(settled(user) for user in ready))
    progress.finish()
    wanted_user = {text for user in ready for text in _texts(user.index, "u", messages)}
    if arrivals is not None:
        await arrivals.wait_for(wanted_user, deadline)
    transcripts = await _transcripts(agent_http, ready, wanted_user, deadline)

    # 7. Figures.
    lost = reordered = duplicated = delivered = 0
    a2u: list[float] = []
    u2a: list[float] = []
    last_arrival = first_send
    for user in ready:
        texts = [text for text, _ in user.agent_texts]
        figures = _order_figures(expected_agent[user.index], texts)
        for text, at in user.agent_texts:
            if text in sent_agent and text in expected_agent[user.index]:
                a2u.append((at - sent_agent[text]) * 1000)
                last_arrival = max(last_arrival, at)
        heard = transcripts.get(user.ticket_id or 0, [])
        user_texts = [line["text"] for line in heard if line.get("author_type") == "user"]
        expected_user = _texts(user.index, "u", messages)
        user_figures = _order_figures(expected_user, user_texts)
        for part in (figures, user_figures):
            lost, reordered, duplicated = lost + part[0], reordered + part[1], duplicated + part[2]
        delivered += 2 * messages - figures[0] - user_figures[0]
        for line in heard:
            said = str(line.get("text"))
            if said not in sent_user or line.get("author_type") != "user":
                continue
            if arrivals is not None and said in arrivals.times:
                at = arrivals.times[said]
                u2a.append((at - sent_user[said][0]) * 1000)
                last_arrival = max(last_arrival, at)
            elif arrivals is None and line.get("received"):
                # Another process: SunCo's `received` stamp (ms) against our wall clock at sending.
                received = datetime.fromisoformat(str(line["received"]).replace("Z", "+00:00")).timestamp()
                took = max(0.0, received - sent_user[said][1])
                u2a.append(took * 1000)
                last_arrival = max(last_arrival, sent_user[said][0] + took)  # on this process's clock
    sent = len(ready) * messages * 2
    lost += (len(users) - len(ready)) * messages * 2
    elapsed = last_arrival - first_send
    return LoadResult(
        conversations=len(users),
        messages_each_way=messages,
        think_seconds=think,
        closed=closed,
        handoffs_started_within_seconds=round(started_within, 3),
        handoffs_completed=len(handed),
        handoffs_all_done_seconds=rounded(max(done_at) - begun, 3) if done_at and len(handed) == len(live) else None,
        handoff_p50_ms=rounded(percentile(handoff_ms, 50)),
        handoff_p99_ms=rounded(percentile(handoff_ms, 99)),
        messages_sent=sent,
        messages_delivered=delivered,
        messages_lost=lost,
        messages_reordered=reordered,
        messages_duplicated=duplicated,
        messages_per_second=rounded(delivered / elapsed, 1) if delivered and elapsed > 0 else None,
        p50_user_to_agent_ms=rounded(percentile(u2a, 50)),
        p99_user_to_agent_ms=rounded(percentile(u2a, 99)),
        p50_agent_to_user_ms=rounded(percentile(a2u, 50)),
        p99_agent_to_user_ms=rounded(percentile(a2u, 99)),
        wall_seconds=round(time.perf_counter() - started_run, 2),
        errors=errors,
        messages_window=(first_send_wall, first_send_wall + elapsed) if messages else None,
    )


async def _transcripts(
    client: httpx.AsyncClient, users: list[LoadUser], wanted: set[str], deadline: float
) -> dict[int, list[dict[str, Any]]]:
    """Every ticket's transcript, polled until it holds every text in `wanted` (or the deadline)."""
    ids = {user.ticket_id for user in users}
    # Each poll serialises every ticket's transcript on the server under test: at 1,000 tickets
    # poll less often (arrival times come from SunCo's stamps, not from when the poll saw them).
    pause = min(5.0, max(0.5, len(ids) / 200))
    while True:
        response = await client.get("/_sim/agent/tickets")
        response.raise_for_status()
        found = {t["id"]: t["transcript"] for t in response.json()["tickets"] if t["id"] in ids}
        heard = {line["text"] for lines in found.values() for line in lines if line.get("author_type") == "user"}
        if wanted <= heard or time.perf_counter() > deadline:
            return found
        await asyncio.sleep(pause)
