"""The keys, on a screen of their own."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

KEYS = """\
# Keys

| key | what it does |
| --- | --- |
| `Enter` | send what you typed (as the end user on the left, as the agent on the right) |
| `Tab` / `Shift+Tab` | move between the end user's box, the tickets, the agent's reply box, the inspector |
| `Ctrl+N` | new webchat end user (a made-up name and email) |
| `Ctrl+T` | new SMS end user (a phone number of their own) |
| `Ctrl+O` | next end user (or click a tab) |
| `F2` | agent: accept the selected ticket |
| `F3` | agent: set the ticket's status (open, pending, solved, closed) |
| `F4` | agent: solve the ticket |
| `F5` | play a scenario (`scenarios/`, `recordings/`): Enter runs it, `S` steps through it |
| `F6` | next step of a scenario played step by step |
| `F7` | show / hide the inspector |
| `F8` | inspector: only the selected conversation / everything |
| `F9` | Admin Center values (secrets masked until you ask) |
| `F10` | start / stop recording the live session (`recordings/NAME.json`, a replayable scenario) |
| `Ctrl+P` | command palette: every action, the faults, the theme |
| `Ctrl+S` | save a screenshot (SVG) |
| `F1` | this help |
| `Ctrl+Q` | quit (stops the server) |

Typing in either box shows the other side a typing indicator. The end user's badge shows the
session state: **bot**, **handing off**, **waiting for agent**, **with agent**, **ended**, **failed**.

Faults (from the command palette: *Fault: …*) make the simulated Zendesk misbehave: Zendesk down,
429 with Retry-After, webhooks dropped, duplicated, delayed or reordered. They stay listed at the
top, with how many uses are left, until *Clear faults*.

The server behind the app is the same as `serve` runs, on the same port: curl, the official SDK or
a real widget client see the same sessions.
"""


class HelpScreen(ModalScreen[None]):
    """Every key, and what the badge and faults mean."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="modal-box"):
            yield Markdown(KEYS)

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Help"
        self.query_one("#help-box").border_subtitle = "Esc closes"
