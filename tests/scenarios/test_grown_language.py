"""The scenario words added for real-world timing: what each one catches."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from simulator.config import load_settings
from simulator.scenarios.actors import EndUser, SmsUser
from simulator.scenarios.loader import ScenarioFileError, parse_scenario
from simulator.scenarios.runner import run_scenario


def scenario(steps: list[dict[str, Any]], **extra: Any) -> Any:
    return parse_scenario(json.dumps({"name": "t", "steps": steps, **extra}))


def test_the_widget_actor_shows_an_event_sent_twice_twice_and_sms_reads_its_outbox_once() -> None:
    settings = load_settings({}, environ={}, persist_generated=False)
    client = httpx.AsyncClient()
    event = {"id": "e1", "type": "EVENT_TYPE_LIVE_AGENT_MESSAGE", "sequence": 7, "payload": {"text": "hi"}}
    user = EndUser(client, settings)
    user._take(event)
    user._take(dict(event))  # a server replaying what the cursor said was seen
    assert len(user.seen) == 2
    sms = SmsUser(client, settings)
    sms._take(event)
    sms._take(dict(event))  # the same outbox entry read again
    assert len(sms.seen) == 1


async def test_a_ticket_expectation_waits_in_virtual_time_across_several_jumps() -> None:
    # Each SunCo call of the handoff answers 3 virtual seconds late: the ticket appears only after
    # several jumps of virtual time, which the expectation must make without giving up.
    result = await run_scenario(
        scenario(
            [
                {"fault": {"target": "sunco", "operation": "POST users", "delay_seconds": 3}},
                {"fault": {"target": "sunco", "operation": "POST conversations", "delay_seconds": 3}},
                {"fault": {"target": "sunco", "operation": "passControl", "delay_seconds": 3}},
                {"user": "say", "text": "talk to a human"},
                {"expect": {"ticket": {"status": "new"}, "tickets": 1}, "within": 20},
            ]
        )
    )
    assert result.passed, result.report


async def test_ticket_by_number_count_once_and_nothing_after_say_what_is_wrong() -> None:
    result = await run_scenario(
        scenario(
            [
                {"user": "say", "text": "talk to a human"},
                {"expect": {"user_sees": [{"type": "HANDOFF_ACCEPTED"}]}, "within": 5},
                {"user": "say", "text": "one"},
                {"user": "say", "text": "two"},
                {
                    "expect": {
                        "ticket": {"number": 1, "transcript": [{"text": "one", "once": True}], "nothing_after": True},
                        "tickets": 2,
                    },
                    "within": 1,
                },
            ]
        )
    )
    assert not result.passed
    assert 'ticket #1 transcript: expected nothing after the last line matched, found user "two"' in result.report
    assert "expected 2 Zendesk tickets, found 1" in result.report


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"agent": "send_image"}, "'send_image' needs 'url'"),
        ({"agent": "set_status", "status": "done"}, "status"),
        ({"user": "type", "seconds": 3}, "'seconds' goes with 'disconnect'"),
        ({"fault": {"target": "sunco", "operation": "passControl"}}, "give a status, a delay_seconds, or both"),
        ({"fault": {"target": "webhooks", "mode": "shuffle"}}, "mode"),
        ({"expect": {"user_sees": [{"type": "SYSTEM_MESSAGE", "level": "LOUD"}]}}, "level"),
    ],
)
def test_new_words_are_checked_before_anything_runs(step: dict[str, Any], problem: str) -> None:
    with pytest.raises(ScenarioFileError) as caught:
        scenario([step])
    assert problem in str(caught.value)


def test_a_status_may_be_written_in_any_case() -> None:
    parsed = scenario([{"agent": "set_status", "status": "SOLVED"}])
    assert parsed.steps[0].status == "SOLVED"  # type: ignore[union-attr]
