"""A simulator started as its own process (`python -m simulator serve --port 0`), for crash and attack tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from simulator.config import GENERATED

# Every secret the server uses, fixed here so a test knows what must never leak.
SECRET_NAMES = [
    "zendesk_shared_secret",
    "zendesk_webhook_secret_key",
    "zendesk_webhook_signing_secret",
    "zendesk_key_secret",
    "zendesk_api_token",
    "polyai_connector_token",
    "sms_auth_token",
]


def make_environment(state_dir: Path) -> dict[str, str]:
    """A clean environment with every generated setting given (so no secrets.json is written)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIM_", "ZENDESK_", "POLYAI_", "RELAY_"))}
    env["SIM_STATE_DIR"] = str(state_dir)
    for name, make in GENERATED.items():
        env[name.upper()] = make()
    env["ZENDESK_SHARED_SECRET"] = "shared-" + secrets.token_hex(16)
    return env


def secrets_of(env: dict[str, str]) -> list[str]:
    return [env[name.upper()] for name in SECRET_NAMES]


class Server:
    """One `serve` process: its URL, and everything it wrote to stdout and stderr."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path, *extra: str) -> None:
        self.log = log
        self._out = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "serve", "--port", "0", "--log-level", "debug", *extra],
            stdout=subprocess.PIPE,
            stderr=self._out,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._out.write(line)
            if line.startswith("Simulator "):
                self.url = line.split()[-1]
                break
        assert self.url, "the server did not print its URL"
        # The rest of stdout goes to the log file too, from a thread (the banner is short).
        rest = self.proc.stdout

        def drain() -> None:
            with contextlib.suppress(ValueError, OSError):  # closed when the process is gone
                for line in rest:
                    self._out.write(line)

        import threading

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/_sim/health", timeout=2).json() == {"status": "ok"}:
                    return
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.05)
        raise AssertionError("the server did not become healthy")

    def kill(self) -> None:
        """`kill -9`: no shutdown code runs."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def _close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._out.close()


class Chat:
    """An end user's webchat socket that records every event exactly as it arrives."""

    def __init__(self, client: httpx.AsyncClient, env: dict[str, str]) -> None:
        self.client = client
        self.env = env
        self.token = ""
        self.session_id = ""
        self.events: list[dict[str, Any]] = []  # every sequenced event, in arrival order
        self._ws: AsyncWebSocketSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        token = await self.client.post(
            "/widget/api/v1/access-token",
            headers={"X-Token": self.env["POLYAI_CONNECTOR_TOKEN"], "X-Host": "localhost"},
            json={},
        )
        token.raise_for_status()
        self.token = token.json()["access_token"]
        session = await self.client.post(
            "/widget/api/v1/sessions",
            headers={"Authorization": f"Bearer {self.token}"},
            json={"user": {"name": "Ana Lopez", "email": "ana@example.test"}},
        )
        session.raise_for_status()
        self.session_id = session.json()["session_id"]
        await self.connect()

    @property
    def cursor(self) -> int:
        return max((e["sequence"] for e in self.events), default=0)

    async def connect(self) -> None:
        query = f"session_id={self.session_id}&access_token={self.token}&cursor={self.cursor}"
        url = f"{self.client.base_url}/widget/ws?{query}"
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._read(url, ready))
        await ready

    async def _read(self, url: str, ready: asyncio.Future[None]) -> None:
        with contextlib.suppress(Exception):
            async with aconnect_ws(url, self.client, keepalive_ping_interval_seconds=None) as ws:
                self._ws = ws
                ready.set_result(None)
                while True:
                    self._take(json.loads(await ws.receive_text()))
        if not ready.done():
            ready.set_exception(AssertionError("the socket did not open"))

    def _take(self, event: dict[str, Any]) -> None:
        if event["type"] == "EVENT_TYPE_EVENT_BATCH":
            for inner in event["payload"]["events"]:
                self._take(inner)
        elif event.get("sequence") is not None:
            self.events.append(event)

    async def send(self, type_: str, payload: dict[str, Any] | None = None) -> None:
        assert self._ws is not None
        await self._ws.send_json({"type": f"EVENT_TYPE_{type_}", "payload": payload or {}})

    async def say(self, text: str) -> None:
        await self.send("USER_MESSAGE", {"text": text})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._ws = None

    def texts(self, type_: str) -> list[str]:
        return [e["payload"].get("text", "") for e in self.events if e["type"] == f"EVENT_TYPE_{type_}"]


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `within` real seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {check}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def client_for(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client
