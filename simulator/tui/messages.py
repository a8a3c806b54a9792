"""The app's messages, as dataclasses (Textual runs their `__post_init__`)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class StateChanged(Message, bubble=False):
    """Something an observing widget shows has changed (`topic` is one of `simulator.tui.model`'s)."""

    topic: str


@dataclass
class UserSubmitted(Message):
    """The end user pressed Enter in the chat box."""

    text: str


@dataclass
class UserTyping(Message):
    """The end user started (or stopped) typing in the chat box."""

    typing: bool


@dataclass
class AgentSubmitted(Message):
    """The agent pressed Enter in the reply box."""

    text: str


@dataclass
class AgentTyping(Message):
    """The agent started (or stopped) typing in the reply box."""

    typing: bool


@dataclass
class ConversationPicked(Message):
    """A conversation tab was chosen."""

    key: str


@dataclass
class TicketPicked(Message):
    """A ticket row was chosen in the agent's list."""

    ticket_id: int
