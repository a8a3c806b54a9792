"""The pytest plugin as a team would use it: the handoff_sim fixture, and scenario collection."""

from __future__ import annotations

import pytest

from simulator.scenarios.harness import Harness

pytest_plugins = ["pytester"]

FAULTY_AGENT = """
from simulator.widget.agent import Agent

agent = Agent(name="Mine", greeting="Hello from my bot", fallback="?")


@agent.topic("human")
def to_zendesk(conv):
    return {"utterance": "Transferring.", "handoff": {"text_chat": {"zendesk_integration": {"tags": "vip"}}}}
"""


async def test_handoff_sim_fixture_drives_a_handoff(handoff_sim: Harness) -> None:
    ana = await handoff_sim.user("ana")
    await ana.say("talk to a human")
    ticket = await handoff_sim.ticket_for(ana, within=5)
    await handoff_sim.agent("Sarah").accept(ticket["id"])
    await handoff_sim.agent("Sarah").say(ticket["id"], "Hi Ana")
    assert await handoff_sim.eventually(lambda: any(e["payload"].get("text") == "Hi Ana" for e in ana.seen), within=5)


@pytest.mark.handoff_sim(settings={"relay_agent_join_timeout_seconds": 60})
async def test_marker_configures_the_fixture(handoff_sim: Harness) -> None:
    assert handoff_sim.settings.relay_agent_join_timeout_seconds == 60
    ana = await handoff_sim.user("ana")
    await ana.say("talk to a human")
    await handoff_sim.ticket_for(ana, within=5)
    await handoff_sim.advance(61)
    assert await handoff_sim.eventually(lambda: any(e["type"].endswith("HANDOFF_TIMEOUT") for e in ana.seen))


def test_a_teams_own_agent_file_and_scenario_run_under_pytest(pytester: pytest.Pytester) -> None:
    pytester.makefile(".py", my_agent=FAULTY_AGENT)
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "mine.json").write_text(
        """{"name": "my bot hands off with my tags", "agent_file": "../my_agent.py", "steps": [
          {"expect": {"user_sees": [{"type": "POLY_AGENT_MESSAGE", "text": "Hello from my bot"}]}},
          {"user": "say", "text": "human please"},
          {"expect": {"ticket": {"tags": ["vip", "polyai_handoff"]}}, "within": 5}
        ]}"""
    )
    (scenarios / "wrong.json").write_text(
        """{"name": "expects the wrong greeting", "agent_file": "../my_agent.py", "steps": [
          {"expect": {"user_sees": [{"type": "POLY_AGENT_MESSAGE", "text": "Howdy"}]}}
        ]}"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "scenarios")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*failed at step 1 (*wrong.json:2)*", '*> POLY_AGENT_MESSAGE "Howdy"*'])
