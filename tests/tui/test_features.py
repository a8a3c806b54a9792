"""Several end users, the inspector, faults from the palette, the Admin Center values and help."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Markdown, Tab

from simulator.scenarios.loader import read_scenario
from simulator.tui.widgets.inspector.pane import TraceDetail, TraceList

from .helpers import make_app, shows, text_of, until


async def test_users_inspector_faults_recording_admin_and_help(tmp_path: Path) -> None:
    app = make_app(recordings=tmp_path)
    async with app.run_test(size=(110, 36)) as pilot:
        state = app.state
        await until(pilot, lambda: state.conversation() and state.conversation().items, "the first user")
        first = state.conversation()
        assert first is not None

        # F10 records the live session; a second F10 writes it as a replayable scenario.
        await pilot.press("f10")
        await shows(pilot, "#top", "REC session-")

        # A second webchat user gets a tab of its own; ctrl+o goes back to the first.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(app.query(Tab)) == 2, "a second tab")
        second = state.conversation()
        assert second is not None and second is not first and second.name != first.name
        await shows(pilot, "#user-pane", second.name)
        await pilot.press(*"agent", "enter")  # the second user is handed off first: ticket 1
        await until(pilot, lambda: len(state.tickets) == 1 and state.selected_ticket == 1, "ticket 1")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: state.conversation() is first, "the first user again")
        await shows(pilot, "#user-pane", first.name)
        await pilot.press(*"agent", "enter")  # ticket 2 arrives while ticket 1 is shown: unread
        await until(pilot, lambda: len(state.tickets) == 2, "one ticket per handed-off conversation")
        assert "● 2 new " + state.tickets[1].requester in await shows(pilot, "#tickets", "●")
        await pilot.press("ctrl+o", "ctrl+o")  # back to the first user: its ticket is shown, and read
        await until(pilot, lambda: state.selected_ticket == 2 and not state.tickets[1].unread, "ticket 2 read")
        assert "●" not in await shows(pilot, "#ticket-header", "#2")

        # The inspector: --> / <-- lines; a selected line shows its JSON; F8 narrows to one conversation.
        trace = app.query_one(TraceList)
        await until(pilot, lambda: trace.option_count > 4, "trace lines")
        lines = [str(trace.get_option_at_index(i).prompt) for i in range(trace.option_count)]
        assert any("--> widget.in" in line and "REQUEST_POLY_AGENT_JOIN" in line for line in lines)
        assert any("<-- widget.out" in line and "POLY_AGENT_MESSAGE" in line for line in lines)
        await pilot.click("#trace")
        await pilot.press("up")
        detail = app.query_one(TraceDetail).json_text
        assert '"kind"' in detail and '"seq"' in detail
        await pilot.press("f8")
        await until(pilot, lambda: 0 < trace.option_count < len(lines), "the filtered trace")
        assert all(e.session in (None, first.session_id) for e in trace._shown)  # nothing of the second user
        assert any(e.session == first.session_id for e in trace._shown)
        await pilot.press("f8")
        await until(pilot, lambda: trace.option_count >= len(lines), "every line again")

        # A fault from the command palette stays listed until cleared.
        await pilot.press("ctrl+p", *"down")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await shows(pilot, "#top", "FAULTS", "Zendesk down")
        await pilot.press("ctrl+p", *"clear")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await until(pilot, lambda: "FAULTS" not in text_of(app.query_one("#top")), "the faults cleared")

        await pilot.press("f10")
        await until(pilot, lambda: app.controller.recorded is not None, "the recording written")
        assert "REC" not in text_of(app.query_one("#top"))
        recording, _ = read_scenario(app.controller.recorded)
        assert recording.recording is not None and recording.steps

        # Admin Center values: secrets masked until asked for.
        secret = app.controller.backend.settings.zendesk_shared_secret.get_secret_value()
        await pilot.press("f9")
        table = app.screen.query_one(DataTable)
        assert "Shared secret" in text_of(table) and secret not in text_of(table) and "••••" in text_of(table)
        await pilot.press("r")
        assert secret in text_of(app.screen.query_one(DataTable))
        await pilot.press("escape")

        await pilot.press("f1")
        assert "Ctrl+N" in app.screen.query_one(Markdown).source
        await pilot.press("escape")
        assert app.screen.query("#user-pane")
