from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.cli import main


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIM_", "ZENDESK_", "POLYAI_"))}
    env["SIM_STATE_DIR"] = str(tmp_path / "state")
    return env


def _spawn(tmp_path: Path, *args: str, **options: Any) -> subprocess.Popen[str]:
    """`python -m simulator ARGS` in `tmp_path`, with its own state folder and text pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        **options,
    )


def _banner_url(proc: subprocess.Popen[str]) -> str:
    """The URL the banner's `Simulator` line names ("" if the banner ends without one)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Simulator "):
            return line.split()[-1]
    return ""


def _health(url: str) -> dict[str, str]:
    """`/_sim/health`'s answer, polled briefly: the banner prints before uvicorn binds its loop."""
    for _ in range(200):
        try:
            body: dict[str, str] = httpx.get(url + "/_sim/health", timeout=2).json()
            return body
        except httpx.TransportError:
            time.sleep(0.05)
    return {}


def test_serve_answers_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "serve", "--port", "0", "--log-level", "warning")
    try:
        url = _banner_url(proc)
        assert url.startswith("http://127.0.0.1:")
        assert _health(url) == {"status": "ok"}
        # `sms` texts it as a phone would, signed with the Auth Token the server generated.
        sent = subprocess.run(
            [sys.executable, "-m", "simulator", "sms", "--url", url, "--from", "+15550100077", "hi"],
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            cwd=tmp_path,
            timeout=30,
        )
        assert sent.returncode == 0, sent.stderr
        assert "/_sim/sms/outbox?to=%2B15550100077" in sent.stdout
        unsigned = httpx.post(url + "/sms/inbound", data={"From": "+15550100078", "Body": "hi"}, timeout=5)
        assert unsigned.status_code == 403
        outbox: list[dict[str, str]] = []
        for _ in range(200):
            outbox = httpx.get(url + "/_sim/sms/outbox", timeout=5).json()["messages"]
            if outbox:
                break
            time.sleep(0.05)
        assert [m["to"] for m in outbox] == ["+15550100077"] and "Hi!" in outbox[0]["body"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "Simulator stopped." in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_banner_off_a_terminal_masks_secrets_and_says_how_to_read_them(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "serve", "--port", "0")
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Secrets are masked"):
                break
        banner = "".join(lines)
        assert "Shared secret" in banner and "/live/events" in banner
        assert "python -m simulator secrets" in banner
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        stored = json.loads((tmp_path / "state" / "secrets.json").read_text())
        secrets = [stored[name] for name in stored if not name.endswith("_id")]
        leaked = [s for s in secrets if s in banner + out + err]
        assert not leaked
    finally:
        if proc.poll() is None:
            proc.kill()


def test_secrets_command_prints_the_admin_values_with_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ZENDESK_SHARED_SECRET", "shared-secret-for-the-test")
    assert main(["secrets"]) == 0
    out = capsys.readouterr().out
    assert "Shared secret" in out and "shared-secret-for-the-test" in out
    stored = json.loads((tmp_path / "state" / "secrets.json").read_text())
    assert stored["zendesk_key_secret"] in out and stored["polyai_connector_token"] in out


@pytest.mark.parametrize(
    ("argv", "environ", "needle"),
    [
        (["serve", "--port", "70000"], {}, "SIM_PORT"),
        (["serve"], {"POLYAI_PROJECT_ID": "no spaces allowed"}, "POLYAI_PROJECT_ID"),
        (["serve", "--config", "/nonexistent/simulator.toml"], {}, "simulator.toml"),
    ],
)
def test_wrong_configuration_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environ: dict[str, str],
    needle: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIM_STATE_DIR", str(tmp_path / "state"))
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {needle}") and "\n" not in err


def test_no_command_without_a_terminal_runs_headless_and_takes_serves_flags(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "--port", "0", "--log-level", "warning", stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Not a terminal") and "serve" in first
        url = _banner_url(proc)
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":8080")
        _health(url)  # up once health answers; then SIGTERM stops it cleanly
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()


def test_secrets_piped_into_a_reader_that_has_gone_is_not_an_error(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head -1` does once it has its line
    try:
        writer = subprocess.run(
            [sys.executable, "-m", "simulator", "secrets"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=_env(tmp_path),
            cwd=tmp_path,
            timeout=60,
            text=True,
        )
    finally:
        os.close(write_end)
    assert writer.returncode == 0, writer.stderr
    assert "Traceback" not in writer.stderr
