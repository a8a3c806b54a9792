"""The Textual app: play the end user and the Zendesk agent side by side, with the inspector below."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Input

from simulator.admin import admin_values
from simulator.tui import messages as msg
from simulator.tui.commands import AppCommands
from simulator.tui.model import AppState
from simulator.tui.screens.admin import AdminScreen
from simulator.tui.screens.pickers import ScenarioPicker, StatusPicker
from simulator.tui.screens.result import ResultScreen
from simulator.tui.widgets.agent.pane import AgentPane
from simulator.tui.widgets.bars import PlayerBar, TopBar
from simulator.tui.widgets.inspector.pane import InspectorPane, TraceList
from simulator.tui.widgets.user.composer import Composer

if TYPE_CHECKING:
    from simulator.tui.backend import Backend
    from simulator.tui.controller import Controller
    from simulator.tui.player import Player

log = logging.getLogger("simulator.tui")

SCENARIO_FOLDERS = (Path("scenarios"), Path("recordings"))
# Actions that need the simulator: until it has started they do nothing (the screen is already up).
NEEDS_SIMULATOR = frozenset(
    {
        "new_webchat", "new_sms", "next_user", "user_end", "accept", "status", "pick_status", "agent_typing",
        "fault", "clear_faults", "scenarios", "next_step", "run_to_end", "toggle_recording", "filter", "admin",
    }
)  # fmt: skip

# The panes re-read the simulator after every boundary crossing (the trace says when), and at least
# this often for what the trace does not show (a screen refresh rate, not simulated time).
REFRESH_SECONDS = 0.5


class HandoffApp(App[None]):
    """The end user on the left, the Zendesk agent on the right, every boundary crossing below."""

    TITLE = "Zendesk handoff simulator"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    COMMANDS = App.COMMANDS | {AppCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_webchat", "New chat", priority=True),
        Binding("ctrl+t", "new_sms", "New SMS", priority=True),
        Binding("ctrl+o", "next_user", "Next user", priority=True),
        Binding("f2", "accept", "Accept"),
        Binding("f3", "pick_status", "Status"),
        Binding("f4", "status('solved')", "Solve"),
        Binding("f5", "scenarios", "Scenario"),
        Binding("f6", "next_step", "Next step", show=False),
        Binding("f7", "toggle_inspector", "Inspector"),
        Binding("f8", "filter", "Filter", show=False),
        Binding("f9", "admin", "Admin"),
        Binding("f10", "toggle_recording", "Record"),
        Binding("f1", "help", "Help"),
        Binding("ctrl+s", "save_screenshot", "Screenshot", show=False, priority=True),
    ]

    controller: Controller
    player: Player

    def __init__(
        self,
        backend: Backend | Callable[[], Backend],
        *,
        seed: int | None = None,
        agent_name: str = "Sarah",
        first_user: bool = True,
        scenario_folders: tuple[Path, ...] = SCENARIO_FOLDERS,
        recordings: Path = Path("recordings"),
        record: str | None = None,
        force: bool = False,
    ) -> None:
        super().__init__()
        self.state = AppState()
        # The simulator (and its imports) start after the first frame: the panes show at once.
        self._backend = backend
        self._options = {"seed": seed, "agent_name": agent_name, "recordings": recordings}
        self._record = (record, force) if record else None
        self._simulator_ready = asyncio.Event()
        self._errors: tuple[type[Exception], ...] = ()
        self.agent_name = agent_name
        self._first_user = first_user
        self.scenario_folders = scenario_folders
        self.started = False

    def compose(self) -> ComposeResult:
        from simulator.tui.widgets.user.pane import UserPane

        yield TopBar(id="top")
        with Horizontal(id="panes"):
            yield UserPane(id="user-pane")
            yield AgentPane(self.agent_name, id="agent-pane")
        yield InspectorPane(id="inspector")
        yield PlayerBar(id="player")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(Composer).focus()
        self.run_worker(self._start(), group="start", exit_on_error=True)

    async def _start(self) -> None:
        from simulator.tui.controller import ACTION_ERRORS, Controller
        from simulator.tui.player import Player

        backend = self._backend() if callable(self._backend) else self._backend
        self.controller = Controller(backend, self.state, **self._options)  # type: ignore[arg-type]
        self.player = Player(self.controller)
        self._errors = ACTION_ERRORS
        self.query_one(TraceList).ids = self.controller.trace_ids
        await self.controller.start(first_user=self._first_user)
        if self._record is not None:
            self._start_recording(*self._record)
        self.set_interval(REFRESH_SECONDS, self.controller.dirty.set)
        self.run_worker(self._refresher(), group="refresh")
        self.started = True
        self._simulator_ready.set()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Until the simulator has started, its actions do nothing."""
        return self.started or action not in NEEDS_SIMULATOR

    async def _refresher(self) -> None:
        """Re-read the simulator whenever something crossed a boundary (or the interval passed)."""
        dirty = self.controller.dirty
        while True:
            await dirty.wait()
            dirty.clear()
            try:
                await self.controller.refresh()
            except self._errors as exc:
                log.debug("refresh failed: %r", exc)

    async def on_unmount(self) -> None:
        if hasattr(self, "controller"):
            await self.controller.stop()

    async def _do(self, work: Awaitable[object]) -> bool:
        """Run one action; a failure is a notification, not a crash."""
        try:
            await work
        except self._errors as exc:
            self.notify(str(exc) or repr(exc), title="Could not do that", severity="error")
            return False
        return True

    # --- end users ----------------------------------------------------------------------------

    async def action_new_webchat(self) -> None:
        if await self._do(self.controller.new_webchat_user()):
            self.query_one(Composer).focus()

    async def action_new_sms(self) -> None:
        if await self._do(self.controller.new_sms_user()):
            self.query_one(Composer).focus()

    def action_next_user(self) -> None:
        self.controller.cycle()

    async def action_user_end(self) -> None:
        await self._do(self.controller.user_end())

    async def on_user_submitted(self, message: msg.UserSubmitted) -> None:
        await self._simulator_ready.wait()  # typed before the first end user was connected: it goes out now
        await self._do(self.controller.user_say(message.text))

    async def on_user_typing(self, message: msg.UserTyping) -> None:
        if not self.started:
            return
        try:
            await self.controller.user_typing(message.typing)
        except self._errors:
            pass  # a typing indicator that did not go out is not worth a notification

    def on_conversation_picked(self, message: msg.ConversationPicked) -> None:
        if self.started and message.key != self.state.selected:
            self.controller.select(message.key)

    # --- the agent ----------------------------------------------------------------------------

    async def action_accept(self) -> None:
        if await self._do(self.controller.agent_accept()):
            self.query_one("#reply", Input).focus()

    async def action_status(self, status: str) -> None:
        await self._do(self.controller.agent_status(status))

    def action_pick_status(self) -> None:
        def chosen(status: str | None) -> None:
            if status:
                self.run_worker(self.action_status(status), group="status")

        self.push_screen(StatusPicker(), chosen)

    async def action_agent_typing(self) -> None:
        await self._do(self.controller.agent_typing(True))

    async def on_agent_submitted(self, message: msg.AgentSubmitted) -> None:
        await self._simulator_ready.wait()
        await self._do(self.controller.agent_say(message.text))

    async def on_agent_typing(self, message: msg.AgentTyping) -> None:
        if not self.started:
            return
        try:
            await self.controller.agent_typing(message.typing)
        except self._errors:
            pass

    def on_ticket_picked(self, message: msg.TicketPicked) -> None:
        if self.started and message.ticket_id != self.state.selected_ticket:
            self.controller.select_ticket(message.ticket_id)

    # --- faults -------------------------------------------------------------------------------

    async def action_fault(self, preset: str) -> None:
        await self._do(self.controller.inject_fault(preset))

    async def action_clear_faults(self) -> None:
        if await self._do(self.controller.clear_faults()):
            self.notify("Every fault cleared")

    # --- scenarios ----------------------------------------------------------------------------

    def action_scenarios(self) -> None:
        from simulator.tui.player import scenario_files

        if self.player.busy:
            self.notify("A scenario is playing: F6 for the next step", severity="warning")
            return

        def chosen(choice: tuple[Path, bool] | None) -> None:
            if choice is not None:
                self.play(*choice)

        self.push_screen(ScenarioPicker(scenario_files(self.scenario_folders)), chosen)

    def play(self, path: Path, stepping: bool) -> None:
        """Play a scenario file into the panes (step by step: F6 runs each step)."""
        self.run_worker(self._play(path, stepping), group="player", exclusive=True)

    async def _play(self, path: Path, stepping: bool) -> None:
        from simulator.scenarios.loader import ScenarioFileError

        try:
            await self.player.play(path, stepping=stepping)
        except ScenarioFileError as exc:
            self.notify(str(exc), title="Invalid scenario file", severity="error")
            self.player.close()
            return
        player = self.state.player
        self.push_screen(ResultScreen(player.result, bool(player.passed)), lambda _: self.player.close())

    def action_next_step(self) -> None:
        self.player.next_step()

    def action_run_to_end(self) -> None:
        self.player.run_to_end()

    # --- recording ---------------------------------------------------------------------------

    def _start_recording(self, name: str | None = None, force: bool = False) -> None:
        from simulator.recordings.recorder import RecordingError

        try:
            path = self.controller.start_recording(name, force=force)
        except RecordingError as exc:
            self.notify(str(exc), title="Cannot record", severity="error")
            return
        self.notify(f"Recording every conversation to {path}; F10 stops", title="Recording")

    def action_toggle_recording(self) -> None:
        """Start recording the live session, or stop and write it as a replayable scenario."""
        from simulator.recordings.recorder import RecordingError

        if self.state.mode != "live":
            self.notify("Recording is for the live simulator, not a scenario", severity="warning")
            return
        if self.controller.recorder is None:
            self._start_recording()
            return
        try:
            path = self.controller.stop_recording()
        except RecordingError as exc:
            self.notify(str(exc), title="Nothing recorded", severity="error")
            return
        self.notify(f"Written to {path} (F5 plays it; `replay {path}` checks it)", title="Recording saved")

    # --- inspector, admin, help ---------------------------------------------------------------

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(InspectorPane)
        inspector.display = not inspector.display

    def action_filter(self) -> None:
        self.controller.toggle_trace_filter()

    def action_admin(self) -> None:
        self.push_screen(AdminScreen(admin_values(self.controller.backend.settings)))

    def action_help(self) -> None:
        from simulator.tui.screens.help import HelpScreen  # Markdown loads on first use

        self.push_screen(HelpScreen())

    def action_save_screenshot(self, folder: str = ".") -> None:
        path = self.save_screenshot(path=folder)
        self.notify(f"Saved {path}", title="Screenshot")
