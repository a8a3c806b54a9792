"""The main screen in each state of a handoff, at 80x24 and 160x48 (update with --snapshot-update)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.conftest import make_app, until

STATES = ["bot", "waiting", "with_agent", "ended"]


def drive_to(state: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        model = app.state
        await until(pilot, lambda: model.conversation() and model.conversation().items, "the greeting")
        user = model.conversation()
        if state != "bot":
            await pilot.press(*"agent", "enter")
            await until(pilot, lambda: user.badge == "waiting for agent" and model.tickets, "the ticket")
        if state in ("with_agent", "ended"):
            await pilot.press("f2")
            await until(pilot, lambda: model.tickets[0].assignee == "Sarah", "the agent")
            await app.controller.agent_say("Hi, I'm Sarah")
            await until(pilot, lambda: any(i.text == "Hi, I'm Sarah" for i in user.items), "the reply")
            await until(pilot, lambda: user.badge == "with agent", "the agent")
        if state == "ended":
            await pilot.press("f4")
            await until(pilot, lambda: user.badge == "ended" and model.tickets[0].status == "solved", "the end")
        await app.controller.refresh()
        # The inspector's lines interleave concurrent deliveries in whichever order they ran: pinned
        # by tests of the trace, not by pictures. Snapshots show the two panes.
        app.query_one("#inspector").display = False
        for box in app.query(Input):
            box.cursor_blink = False  # a blinking cursor is drawn or not depending on the moment
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("state", STATES)
def test_main_screen(snap_compare: Any, fixed_ids: None, state: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=drive_to(state))
