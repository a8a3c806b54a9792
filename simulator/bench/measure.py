"""The single figures: the two paths one message at a time, start-up, replay, and memory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Literal

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from simulator.app import SimulatorApp
from simulator.bench.load import ACCEPTED, ArrivalLog, LoadUser
from simulator.bench.sockets import UserClient
from simulator.config import Settings
from simulator.scenarios.quiet import quiesce

BARE_SERVER = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def health(request): return JSONResponse({"status": "ok"})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0)); sock.listen(128)
print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/_sim/health", health)]), log_level="warning")).run(
    sockets=[sock])
"""


async def path_latencies(
    base_url: str, settings: Settings, sim: SimulatorApp, count: int, user_client: UserClient = "websockets"
) -> tuple[list[float], list[float]]:
    """(user->agent, agent->user) milliseconds for `count` messages each way, one at a time, on one
    handed-off conversation: a WebSocket frame in until SunCo stored it; the agent's post until
    `LIVE_AGENT_MESSAGE` is on the user's socket. `user_client`: the end user's WebSocket client."""
    arrivals = ArrivalLog(sim)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        user = LoadUser(client, settings, "paths", 0)
        user.user_client = user_client
        try:
            ticket = await handed_off(user, client, "Pat Path")
            u2a: list[float] = []
            a2u: list[float] = []
            for i in range(count + 3):  # the first few warm up
                text = f"path u {i}"
                await settled()
                started = time.perf_counter()
                await user.say(text)
                if not await arrivals.wait_for({text}, time.perf_counter() + 30):
                    raise RuntimeError("a user message did not reach SunCo")
                u2a.append((arrivals.times[text] - started) * 1000)
                reply = f"path a {i}"
                await settled()
                started = time.perf_counter()
                (await client.post(f"/_sim/agent/tickets/{ticket}/messages", json={"text": reply})).raise_for_status()
                if not await user.until(partial(user.has_agent_text, reply), time.perf_counter() + 30):
                    raise RuntimeError("an agent message did not reach the user")
                a2u.append((dict(user.agent_texts)[reply] - started) * 1000)
            return u2a[3:], a2u[3:]
        finally:
            await user.close()
            arrivals.close()


async def handed_off(user: LoadUser, client: httpx.AsyncClient, name: str) -> int:
    """`user` (as `name`) opens the widget and asks for a human, and agent Sam accepts the ticket;
    its id. The one handed-off conversation the path measurements run on."""
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:8]}@example.test"
    await user.connect({"name": name, "email": email})
    await user.join()
    await user.say("talk to a human")
    if not await user.until(lambda: user.saw(ACCEPTED), time.perf_counter() + 30):
        raise RuntimeError("the handoff for the path measurement did not complete")
    tickets = (await client.get("/_sim/agent/tickets")).json()["tickets"]
    ticket: int = next(t["id"] for t in tickets if t["requester"]["email"] == email)
    (await client.post(f"/_sim/agent/tickets/{ticket}/accept", json={"agent_name": "Sam"})).raise_for_status()
    return ticket


async def settled() -> None:
    """Wait until the server (in this loop, over loopback sockets) has finished what the last
    message left behind: SunCo's answer to the relay, its echo webhook, the stores' writes. Each
    path is measured one message at a time, as the bare chain's requests are, not on the tail of
    the one before; the load's figures are where messages overlap."""
    await quiesce(sockets=True)


def startup_seconds(command: list[str], env: dict[str, str], attempts: int = 3) -> float:
    """Best of `attempts`: from starting the process to `/_sim/health` answering 200.

    The command prints its base URL (the simulator's banner does) before serving.
    """
    best = float("inf")
    for _ in range(attempts):
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = _read_url(process)
            with httpx.Client(timeout=1) as client:
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(url + "/_sim/health").status_code == 200:
                            break
                    try:  # the pause between polls, which also notices a server that exited
                        process.wait(timeout=0.002)
                    except subprocess.TimeoutExpired:
                        continue
                    raise RuntimeError(f"{command} exited with {process.returncode} during start-up")
            best = min(best, time.perf_counter() - started)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return best


def _read_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        for word in line.split():
            if word.startswith("http://"):
                return word.rstrip("/")
    raise RuntimeError("the server printed no URL")


def simulator_startup(attempts: int = 3, *, warm: bool = True) -> float:
    """`python -m simulator serve --port 0` to healthy, in a fresh state folder."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as state:
        env = {**os.environ, "SIM_STATE_DIR": state}
        env.pop("SIM_PORT", None)
        # With the bytecode cache, as a user's starts run (pip compiles it; a checkout writes it on the
        # first run): a PYTHONDONTWRITEBYTECODE inherited from a CI or sandbox shell would make every
        # start compile the simulator's ~90 modules again (~0.1 s), which the bare app, all in
        # site-packages and compiled at install, never pays.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--log-level", "warning"]
        if warm:  # the first start generates the secrets; time the starts after it, as a user's next would
            startup_seconds(command, env, attempts=1)
        return startup_seconds(command, env, attempts)


def bare_startup(attempts: int = 3) -> float:
    """A bare Starlette app under uvicorn, to healthy."""
    return startup_seconds([sys.executable, "-c", BARE_SERVER], dict(os.environ), attempts)


async def replay_seconds(paths: list[Path], transport: Literal["asgi", "socket"] = "asgi") -> tuple[float, bool]:
    """Wall time of replaying the scenarios under `paths`, and whether all passed."""
    from simulator.scenarios.replay import replay

    started = time.perf_counter()
    code = await replay(paths, transport=transport, out=io.StringIO())
    return time.perf_counter() - started, code == 0


def scenario_library() -> Path:
    """The repository's scenarios/ folder (next to the package), else ./scenarios."""
    beside = Path(__file__).resolve().parents[2] / "scenarios"
    return beside if beside.is_dir() else Path("scenarios")


def peak_memory_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.asynccontextmanager
async def traced() -> AsyncIterator[Callable[[], int]]:
    """Python allocations made inside the block: yields a function that returns the bytes held now
    beyond what was held on entry (after a garbage collection)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]

    def held() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - base

    try:
        yield held
    finally:
        if not already:
            tracemalloc.stop()


async def settled_bytes(held: Callable[[], int], *, pause: float = 0.5, limit: float = 15.0) -> int:
    """`held()` once work still in flight has drained (webhook deliveries, the relay's follow-ups):
    readings `pause` apart until two agree within 0.5% (at most `limit` seconds). On a busy machine a
    reading taken at once counted whatever had not finished yet, a few KB per conversation either way."""
    last = held()
    waited = 0.0
    while waited < limit:
        await asyncio.sleep(pause)
        waited += pause
        now = held()
        if abs(now - last) <= 0.005 * max(abs(last), 1):
            return now
        last = now
    return last


async def bare_socket_bytes(base_url: str, count: int) -> float:
    """Bytes per bare WebSocket held open (client and server side, both in this process)."""
    async with (
        traced() as held,
        httpx.AsyncClient(
            base_url=base_url, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)
        ) as client,
    ):
        opened = asyncio.Event()
        stop = asyncio.Event()
        counter = [0]
        gate = asyncio.Semaphore(50)

        async def hold() -> None:
            async with contextlib.AsyncExitStack() as stack:
                async with gate:
                    ws: AsyncWebSocketSession = await stack.enter_async_context(
                        aconnect_ws(f"{base_url}/ws", client, keepalive_ping_interval_seconds=None)
                    )
                await ws.send_text("hello")
                counter[0] += 1
                if counter[0] == count:
                    opened.set()
                await stop.wait()

        tasks = [asyncio.create_task(hold()) for _ in range(count)]
        await opened.wait()
        await asyncio.sleep(0.2)
        size = await settled_bytes(held) / count
        stop.set()
        # Closing is not measured: a ping the server sent while the sockets were held may be answered
        # just as a socket closes (wsproto refuses it), which does not change the figure.
        await asyncio.gather(*tasks, return_exceptions=True)
        return size


async def measure_idle(run: Callable[[Callable[[], Awaitable[None]]], Awaitable[object]], count: int) -> float:
    """Bytes per idle handed-off conversation: `run(on_idle)` builds `count` of them and awaits
    `on_idle` once they are all handed off and idle (client and server side, both in this process)."""
    size = 0.0
    async with traced() as held:

        async def on_idle() -> None:
            nonlocal size
            await asyncio.sleep(0.2)
            size = await settled_bytes(held) / count

        await run(on_idle)
    return size
