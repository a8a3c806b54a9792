"""Checking a replayed recording's exchanges against the recorded ones (the runner calls this)."""

from __future__ import annotations

from typing import Any

from simulator.recordings.compare import compare_exchanges
from simulator.recordings.exchanges import exchanges_of, normaliser_for
from simulator.recordings.flow import Participants
from simulator.recordings.model import RecordingPart
from simulator.scenarios.actors import SmsUser
from simulator.scenarios.harness import Harness


def exchange_problems(recording: dict[str, Any], harness: Harness) -> list[str]:
    """How the relay's exchanges in this run differ from the recording's (empty: the same)."""
    part = RecordingPart.model_validate(recording)
    entries = harness.sim.trace.entries()
    names: dict[str, str] = {}
    for name, user in harness.users.items():
        key = user.phone if isinstance(user, SmsUser) else user.session_id
        if key:
            names[key] = name
    actual = exchanges_of(entries, Participants(entries, names), normaliser_for(entries))
    expected = [exchange.model_dump(exclude_none=True) for exchange in part.exchanges]
    return compare_exchanges(expected, actual)
