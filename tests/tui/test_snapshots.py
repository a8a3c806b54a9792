"""The main screen in each state of a handoff, at 80x24 and 160x48 (update with --snapshot-update).

One app run per size walks the handoff and pins a picture at each state (bot, waiting for agent,
with agent, ended), so the pictures cost two runs, not eight.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot
from textual.widgets import Input

from .helpers import make_app, text_of, until


async def quiet(pilot: Pilot[Any]) -> None:
    """Wait until nothing changes any more: no new crossing, the same picture three times running."""
    app: Any = pilot.app
    await app.controller.refresh()
    last: tuple[int, str] | None = None
    steady = 0
    for _ in range(200):
        await pilot.pause(0.03)
        now = (len(app.state.trace), text_of(app.screen))
        steady = steady + 1 if now == last else 0
        last = now
        if steady >= 3:
            break
    # The inspector's lines interleave concurrent deliveries in whichever order they ran: the trace's
    # own tests pin those; the pictures pin the two panes.
    app.query_one("#inspector").display = False
    for box in app.query(Input):
        box.cursor_blink = False  # a blinking cursor is drawn or not depending on the moment
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_main_screen_through_a_handoff(
    snapshot: SnapshotAssertion, fixed_ids: None, size: tuple[int, int]
) -> None:
    pictures = snapshot.use_extension(SVGImageExtension)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        model = app.state
        await until(pilot, lambda: model.conversation() and model.conversation().items, "the greeting")
        user = model.conversation()
        await quiet(pilot)
        assert pictures(name="bot") == app.export_screenshot(simplify=True)

        await pilot.press(*"agent", "enter")
        await until(pilot, lambda: user.badge == "waiting for agent" and model.tickets, "the ticket")
        await quiet(pilot)
        assert pictures(name="waiting") == app.export_screenshot(simplify=True)

        await pilot.press("f2")
        await until(pilot, lambda: model.tickets[0].assignee == "Sarah", "the agent")
        await app.controller.agent_say("Hi, I'm Sarah")
        await until(pilot, lambda: user.badge == "with agent", "with agent")
        await quiet(pilot)
        assert pictures(name="with_agent") == app.export_screenshot(simplify=True)

        await pilot.press("f4")
        await until(pilot, lambda: user.badge == "ended" and model.tickets[0].status == "solved", "the end")
        await quiet(pilot)
        assert pictures(name="ended") == app.export_screenshot(simplify=True)
