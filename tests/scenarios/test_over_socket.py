"""Every shipped scenario also passes over a real loopback socket (the faithful transport)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenarios.runner import run_file

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.json"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario_over_a_real_socket(path: Path) -> None:
    result = await run_file(path, transport="socket")
    assert result.passed, result.report
