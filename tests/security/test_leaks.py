"""A full session over real sockets writes no secret and no issued token to any log line, state file,
trace or recording, keeps its state folder private, and a 256 MB upload without credentials leaves
memory where it was."""

from __future__ import annotations

import contextlib
import json
import socket
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

from httpx_ws import WebSocketUpgradeError, aconnect_ws

from simulator.widget.sms_signature import ProviderSigning
from tests.security.server import Chat, Server, client_for, eventually, make_environment, secrets_of


async def test_no_secret_or_token_in_any_log_line_or_state_file(tmp_path: Path) -> None:
    env = make_environment(tmp_path / "state")
    # The relay reads tickets too (Support API, with the API token) when a conversation goes quiet.
    env.update(ZENDESK_API_EMAIL="relay@example.test", RELAY_RECONCILE_SECONDS="0.2")
    log = tmp_path / "server.log"
    server = Server(env, tmp_path, log, "--trace", str(tmp_path / "trace.jsonl"), "--record", "leak-scan")
    tokens: list[str] = []
    try:
        async with client_for(server) as client:
            ana = Chat(client, env)
            await ana.open()
            tokens.append(ana.token)
            await ana.send("REQUEST_POLY_AGENT_JOIN")
            await ana.say("talk to a human")
            tickets = await eventually(lambda: _tickets(client))
            ticket = tickets[0]["id"]
            await client.post(f"/_sim/agent/tickets/{ticket}/accept", json={"agent_name": "Sarah"})
            await client.post(f"/_sim/agent/tickets/{ticket}/messages", json={"text": "Hello"})
            await eventually(lambda: "Hello" in ana.texts("LIVE_AGENT_MESSAGE"))
            await eventually(lambda: _traced(client, "support.call"))
            # A token in the URL however the parameter is spelled (uvicorn logs each handshake's URL),
            # and refused handshakes (no uvicorn ERROR for them).
            for spelling in ("access%5Ftoken", "access%5ftoken", "access_token"):
                url = f"{server.url}/widget/ws?session_id={ana.session_id}&{spelling}={ana.token}&cursor=0"
                async with aconnect_ws(url, client) as ws:
                    assert json.loads(await ws.receive_text())["type"] == "EVENT_TYPE_EVENT_BATCH"
            for query in (f"session_id={ana.session_id}&access_token={ana.token}x", "session_id=x"):
                with contextlib.suppress(WebSocketUpgradeError):
                    async with aconnect_ws(f"{server.url}/widget/ws?{query}", client):
                        raise AssertionError("a bad handshake was accepted")
            form = {"From": "+15550100001", "Body": "talk to a human"}
            signing = ProviderSigning(env["SMS_AUTH_TOKEN"])
            assert (await client.post("/sms/inbound", data=form, auth=signing)).status_code == 200
            await client.post(f"/_sim/agent/tickets/{ticket}/status", json={"status": "solved"})
            await eventually(lambda: ana.events and ana.events[-1]["type"] == "EVENT_TYPE_SESSION_END")
            await ana.close()
    finally:
        assert server.stop() == 0
    state = tmp_path / "state"
    files = [p for p in state.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"relay.sqlite3", "state.sqlite3"}
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), [(p, oct(p.stat().st_mode)) for p in files]
    outputs = [tmp_path / "trace.jsonl", *(tmp_path / "recordings").glob("*.json")]
    assert len(outputs) == 2, outputs  # the trace and the recording were written
    written = {p.name: p.read_bytes() for p in [log, *files, *outputs]}
    needles = [*secrets_of(env), *tokens]
    assert len(needles) == 8
    leaks = [(name, needle[:6]) for name, data in written.items() for needle in needles if needle.encode() in data]
    assert not leaks
    assert b"Traceback" not in written["server.log"] and b"ERROR" not in written["server.log"]


async def _traced(client: object, kind: str) -> list[dict[str, object]]:
    response = await client.get("/_sim/trace", params={"kind": kind})  # type: ignore[attr-defined]
    entries: list[dict[str, object]] = response.json()["entries"]
    return entries


async def _tickets(client: object) -> list[dict[str, object]]:
    response = await client.get("/_sim/agent/tickets")  # type: ignore[attr-defined]
    tickets: list[dict[str, object]] = response.json()["tickets"]
    return tickets


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _upload(url: str, path: str, headers: str, total: int) -> tuple[str, int]:
    """Send up to `total` bytes of body; returns the status line and how many bytes went out."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        chunk = b"x" * 65536
        sock.settimeout(5)
        try:
            while sent < total:
                sock.sendall(chunk if "content-length" in headers.lower() else b"10000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: it stopped reading
        sock.settimeout(5)
        answer = sock.recv(200).decode(errors="replace")
    return answer.split("\r\n", 1)[0], sent


def test_a_256_mb_upload_without_credentials_leaves_memory_bounded(tmp_path: Path) -> None:
    env = make_environment(tmp_path / "state")
    server = Server(env, tmp_path, tmp_path / "server.log")
    try:
        pid = server.proc.pid
        before = _rss_kib(pid)
        total = 256 * 1024 * 1024
        app = f"/sc/v2/apps/{env['ZENDESK_APP_ID']}/users"
        status, _ = _upload(server.url, app, f"Content-Length: {total}\r\nContent-Type: application/json\r\n", total)
        assert " 401 " in status + " "
        # Streamed with no length: refused once past the limit (uvicorn may drain the rest unread).
        status, _ = _upload(server.url, "/sms/inbound", "Transfer-Encoding: chunked\r\n", 64 * 1024 * 1024)
        assert " 413 " in status + " "
        time.sleep(0.2)
        grown = _rss_kib(pid) - before
        # The bug held the whole body (over 500 MiB); a bounded server grows by buffers at most.
        assert grown < 48 * 1024, f"RSS grew by {grown} KiB"
    finally:
        server.stop()
