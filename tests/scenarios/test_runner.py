"""The scenario runner as a user meets it: failures that say what to fix, and replay's exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.scenarios.loader import parse_scenario
from simulator.scenarios.runner import run_file, write_actual

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def broken_copy(tmp_path: Path) -> Path:
    """happy_path.json with the agent's greeting expected wrong, as a careless edit would."""
    text = (SCENARIOS / "happy_path.json").read_text()
    assert 'Hi, I\'m Sarah. How can I help?", "once"' in text
    broken = text.replace('Hi, I\'m Sarah. How can I help?", "once"', 'Hello, I\'m Sarah.", "once"')
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "agents").symlink_to(SCENARIOS / "agents")
    path = folder / "happy_path.json"
    path.write_text(broken)
    return path


async def test_a_broken_scenario_fails_with_a_report_a_person_can_act_on(tmp_path: Path) -> None:
    path = broken_copy(tmp_path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "Hello, I'm Sarah." in text) - 2
    result = await run_file(path)
    assert not result.passed
    report = result.report
    assert f"failed at step 7 ({path}:{line})" in report
    assert "expectation not met within 5 virtual seconds" in report
    # The side-by-side: what was expected next to what the user actually saw, the miss flagged.
    assert "expected (in order)" in report and "user saw" in report
    flagged = [row for row in report.splitlines() if row.startswith(">")]
    assert len(flagged) == 1
    assert "Hello, I'm Sarah." in flagged[0] and "Hi, I'm Sarah. How can I help?" in flagged[0]


async def test_the_actual_run_is_written_as_a_scenario_that_passes(tmp_path: Path) -> None:
    result = await run_file(broken_copy(tmp_path))
    actual = write_actual(result, tmp_path / "scenarios")
    scenario = parse_scenario(actual.read_text(), str(actual))
    assert scenario.name.endswith("(actual)")
    assert len(scenario.steps) == 7  # up to and including the step that failed
    assert (await run_file(actual)).passed


def test_replay_exit_codes_summary_and_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "faq.json").write_text((SCENARIOS / "faq_without_handoff.json").read_text())
    assert main(["replay", str(good)]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out

    broken = broken_copy(tmp_path)
    junit = tmp_path / "junit.xml"
    assert main(["replay", str(broken), str(good / "faq.json"), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "happy_path.json ... FAILED" in out and "1 passed, 1 failed" in out
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")

    assert main(["replay", str(tmp_path / "nowhere")]) == 2


def test_replay_rejects_an_invalid_file_before_running_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "bad", "steps": [{"agent": "dance"}]}, indent=2))
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"invalid scenario file: {path}:5: $.steps[0].agent: 'dance' is not one of" in out
