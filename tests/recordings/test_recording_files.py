"""The recording file: its schema, clear errors for damaged or other-version files, no silent overwrite, the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from simulator.cli import main
from simulator.config import Settings, load_settings
from simulator.recordings.examples import happy_path
from simulator.recordings.model import RECORDING_VERSION, recording_schema
from simulator.recordings.recorder import Recorder, RecordingError
from simulator.scenarios.actors import EndUser, ZendeskAgent
from simulator.scenarios.harness import Harness
from simulator.scenarios.loader import ScenarioFileError, load_scenario, parse_scenario
from simulator.scenarios.runner import run_file

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "recordings").glob("*.json"))


def test_the_committed_schema_is_generated_from_the_models() -> None:
    committed = json.loads((ROOT / "schemas" / "recording.schema.json").read_text())
    assert committed == recording_schema(), "regenerate schemas/recording.schema.json from simulator.recordings.model"


def test_the_committed_recordings_are_three_distinct_flows_in_the_current_format() -> None:
    assert {p.stem for p in COMMITTED} >= {"happy_path", "zendesk_down", "sms_handoff"}
    for path in COMMITTED:
        recording = load_scenario(path)
        assert recording.recording is not None and recording.recording["version"] == RECORDING_VERSION
        assert recording.recording["exchanges"], path
    channels = {u.channel for p in COMMITTED for u in load_scenario(p).users.values()}
    assert channels == {"webchat", "sms"}


def _committed_text() -> str:
    return (ROOT / "recordings" / "happy_path.json").read_text()


def test_an_older_version_is_one_error_that_says_so() -> None:
    text = _committed_text().replace(f'"version": {RECORDING_VERSION}', '"version": 0', 1)
    with pytest.raises(ScenarioFileError) as error:
        parse_scenario(text, "recordings/old.json")
    message = str(error.value)
    assert message.startswith("recordings/old.json:")
    assert "$.recording.version: recording format version 0 is older than this simulator's (1)" in message
    assert "\n" not in message


def test_a_newer_version_asks_for_an_upgrade() -> None:
    text = _committed_text().replace(f'"version": {RECORDING_VERSION}', '"version": 99', 1)
    with pytest.raises(ScenarioFileError, match="version 99 is newer than this simulator's"):
        parse_scenario(text, "x.json")


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda t: t[: len(t) // 2], "not valid JSON"),
        (lambda t: t.replace('"kind": "sunco.call"', '"kind": "sunco.cal"', 1), "$.recording.exchanges[1].kind:"),
        (lambda t: t.replace('"version": 1,', "", 1), "$.recording: 'version' is a required property"),
        (lambda t: t.replace('"n": 3,', '"n": "three",', 1), "$.recording.exchanges[2].n: 'three' is not of type"),
        (lambda t: t.replace('"user": "user", "kind"', '"user": "bob", "kind"', 1), "[0].user: 'bob' is not one of"),
    ],
    ids=["truncated", "unknown kind", "no version", "bad number", "unknown user"],
)
def test_a_damaged_recording_is_one_error_naming_the_place(damage: object, needle: str) -> None:
    text = damage(_committed_text())  # type: ignore[operator]
    with pytest.raises(ScenarioFileError) as error:
        parse_scenario(text, "recordings/damaged.json")
    assert needle in str(error.value)
    assert str(error.value).startswith("recordings/damaged.json:")


async def test_nothing_is_overwritten_without_force(tmp_path: Path) -> None:
    existing = tmp_path / "taken.json"
    existing.write_text("keep me")
    async with Harness() as sim:
        with pytest.raises(RecordingError, match="taken.json exists; use --force to overwrite it"):
            Recorder(sim.sim.trace, "taken", tmp_path).start()
        recorder = Recorder(sim.sim.trace, "taken", tmp_path, force=True)
        recorder.start()
        await happy_path(sim)
        assert recorder.stop() == existing
    assert load_scenario(existing).recording is not None


async def test_stopping_with_no_conversation_says_so(tmp_path: Path) -> None:
    async with Harness() as sim:
        recorder = Recorder(sim.sim.trace, "empty", tmp_path)
        recorder.start()
        with pytest.raises(RecordingError, match="nothing to record"):
            recorder.stop()
    assert not (tmp_path / "empty.json").exists()


async def test_record_from_a_json_lines_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace_file = tmp_path / "session.jsonl"
    async with Harness({"sim_trace_file": trace_file}) as sim:
        await happy_path(sim)
    folder = tmp_path / "recs"
    argv = ["record", "--from-trace", str(trace_file), "--folder", str(folder)]
    assert main(argv) == 0
    assert f"Recording written to {folder / 'session.json'}" in capsys.readouterr().out
    result = await run_file(folder / "session.json")
    assert result.passed, result.report
    assert main(argv) == 1
    assert "session.json exists; use --force to overwrite it" in capsys.readouterr().err
    assert main([*argv, "--force", "again"]) == 0
    assert main(["record"]) == 2
    # a trace file appended to by two server runs (seq restarts at 1) is one session, in file order
    twice = tmp_path / "twice.jsonl"
    twice.write_text(trace_file.read_text() * 2)
    assert main(["record", "--from-trace", str(twice), "--folder", str(folder)]) == 0

    def says(name: str) -> list[str]:
        steps = [step.model_dump() for step in load_scenario(folder / name).steps]
        return [str(step["text"]) for step in steps if step.get("user") == "say"]

    assert says("twice.json") == says("session.json") * 2
    (tmp_path / "bad.jsonl").write_text('{"seq": 1}\n')
    assert main(["record", "--from-trace", str(tmp_path / "bad.jsonl"), "--folder", str(folder)]) == 1
    assert "bad.jsonl:1: not a trace entry" in capsys.readouterr().err


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIM_", "ZENDESK_", "POLYAI_", "RELAY_"))}
    env["SIM_STATE_DIR"] = str(tmp_path / "state")
    return env


async def _drive(url: str, settings: Settings) -> None:
    """Play the end user and the agent against a live server, as any client of its public APIs would."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/_sim/health")).status_code == 200:
                    break
            await asyncio.sleep(0.05)
        ana = EndUser(client, settings, "ana")
        await ana.connect({"name": "Ana Lima", "email": "ana@example.test"})
        await ana.join()
        await ana.say("talk to a human")
        tickets: list[dict[str, object]] = []
        for _ in range(200):
            tickets = await ZendeskAgent(client, settings).tickets()
            if tickets:
                break
            await asyncio.sleep(0.02)
        sarah = ZendeskAgent(client, settings, "Sarah")
        await sarah.accept(int(str(tickets[0]["id"])))
        await sarah.say(int(str(tickets[0]["id"])), "Hi Ana")
        for _ in range(200):
            if any(e.get("type") == "EVENT_TYPE_LIVE_AGENT_MESSAGE" for e in ana.seen):
                break
            await asyncio.sleep(0.02)
        await ana.close()


def test_serve_record_keeps_a_live_session_driven_from_outside(tmp_path: Path) -> None:
    """`serve --record NAME`: a client of our own drives the live server; Ctrl-C writes a replayable file."""
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--log-level", "warning", "--record", "live"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path), cwd=tmp_path
    )
    try:
        assert proc.stdout is not None
        url = next(line.split()[-1] for line in proc.stdout if line.startswith("Simulator "))
        settings = load_settings({"sim_state_dir": tmp_path / "state"}, environ={})
        asyncio.run(_drive(url, settings))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    path = tmp_path / "recordings" / "live.json"
    assert f"Recording written to {Path('recordings') / 'live.json'}" in out
    text = path.read_text()
    assert not [s for s in settings.secret_values() if s in text]
    assert '"type": "LIVE_AGENT_MESSAGE", "text": "Hi Ana"' in text
    result = asyncio.run(run_file(path))
    assert result.passed, result.report
    again = subprocess.run(command, capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=20)
    assert again.returncode == 2
    assert again.stderr.strip() == "error: recordings/live.json exists; use --force to overwrite it"
