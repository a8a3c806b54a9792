from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.scenarios.loader import SCHEMA_PATH, ScenarioFileError, parse_scenario, scenario_schema
from simulator.scenarios.model import AgentStep, ExpectStep, UserStep

GOOD = """{
  "name": "minimal",
  "steps": [
    {"user": "say", "text": "hello"},
    {"agent": "accept"},
    {"expect": {"user_sees": [{"type": "POLY_AGENT_MESSAGE", "text": {"contains": "Hi"}}]}, "within": 5}
  ]
}
"""


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == scenario_schema(), "regenerate schemas/scenario.schema.json from simulator.scenarios.model"


def test_every_shipped_scenario_validates() -> None:
    folder = Path(__file__).resolve().parents[2] / "scenarios"
    files = sorted(folder.glob("*.json"))
    assert files
    for path in files:
        parse_scenario(path.read_text(), str(path))


def test_a_valid_scenario_parses_into_typed_steps() -> None:
    scenario = parse_scenario(GOOD)
    assert [type(step) for step in scenario.steps] == [UserStep, AgentStep, ExpectStep]
    assert list(scenario.users) == ["user"]


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (GOOD.replace('"accept"', '"acept"'), "x.json:5: $.steps[1].agent: 'acept' is not one of"),
        (GOOD.replace(', "text": "hello"', ""), "x.json:4: $.steps[0]: 'say' needs 'text'"),
        (GOOD.replace('"within": 5', '"within": -1'), "x.json:6: $.steps[2].within: -1 is less than the minimum"),
        (GOOD.replace('"name": "minimal",', ""), "x.json:1: $: 'name' is a required property"),
        (
            GOOD.replace('{"contains": "Hi"}', '{"contains": "Hi", "regex": "H"}'),
            "$.steps[2].expect.user_sees[0].text: give exactly one of exact, contains, regex",
        ),
        (GOOD.replace("]\n}", "],\n}"), "x.json:8: not valid JSON"),
    ],
)
def test_an_invalid_scenario_names_the_path_and_line(broken: str, expected: str) -> None:
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(broken, "x.json")
    assert expected in str(info.value)
