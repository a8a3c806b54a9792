"""Redraw docs/tui.svg: the app mid-handoff, saved by its own screenshot action.

Run from the repository root: `python docs/screenshot.py` (in-process simulator, virtual time,
seeded names, so the picture only changes when the app does).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tui.helpers import make_app, until  # noqa: E402


async def main() -> None:
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        state = app.state
        await until(pilot, lambda: state.conversation() and state.conversation().items)
        user = state.conversation()
        await pilot.press(*"talk to a human", "enter")
        await until(pilot, lambda: state.tickets)
        await pilot.press("f2")
        await until(pilot, lambda: state.tickets[0].assignee)
        await app.controller.agent_say("Hi, I'm Sarah. How can I help?")
        await until(pilot, lambda: user.badge == "with agent")
        await pilot.click("#composer")
        await pilot.press(*"My order never arrived", "enter")
        await until(pilot, lambda: len(state.tickets[0].transcript) >= 5)
        await pilot.click("#reply")
        await pilot.press(*"Let me check")
        await until(pilot, lambda: user.agent_typing)
        await pilot.pause(0.3)
        for box in app.query("Input"):
            box.cursor_blink = False  # type: ignore[attr-defined]
        target = ROOT / "docs" / "tui.svg"
        target.unlink(missing_ok=True)
        before = set((ROOT / "docs").glob("*.svg"))
        app.action_save_screenshot(str(ROOT / "docs"))
        (new,) = set((ROOT / "docs").glob("*.svg")) - before
        new.rename(target)
        print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(main())
