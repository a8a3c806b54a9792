"""The public API of agent definition files: `Agent`, its topics, and the `Conversation` functions get.

An agent file is plain Python::

    from simulator.widget.agent import Agent

    agent = Agent(name="Demo", greeting="Hi! How can I help?")
    agent.faq(["opening hours", "when are you open"], "We're open 9 to 5, Monday to Friday.")

    @agent.topic("talk to a human", "speak to an agent")
    def transfer_to_zendesk(conv):
        return {
            "utterance": "No problem, I'll transfer you to one of our agents now.",
            "handoff": {"text_chat": {"zendesk_integration": {}}},
        }

Topics are tried in the order they are declared; the first whose phrase (whole words, any
case, punctuation ignored) or regex `pattern` matches the user's text answers. A topic has
a `reply`, an action function, or both (the function's answer wins; `None` falls back to
the reply). A function returns a string, `{"utterance": ...}`, or the handoff payload
`{"utterance": ..., "handoff": {"text_chat": {"zendesk_integration": {}}}}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Action = Callable[["Conversation"], Any]

DEFAULT_FALLBACK = "Sorry, I didn't catch that. Could you rephrase?"


@dataclass(slots=True)
class Turn:
    """One line of the conversation so far."""

    speaker: Literal["user", "bot"]
    text: str
    timestamp: datetime


@dataclass
class Conversation:
    """What an action function receives (a subset of PolyAI's `conv` object).

    `state` lives for the session; `memory` is kept per `caller_number` across sessions
    (PolyAI's Agent Memory). `history` holds every user and bot turn, oldest first.
    """

    id: str
    project_id: str
    channel_type: str  # "webchat.polyai" or "sms"
    caller_number: str | None  # the phone number on SMS; the user's email on webchat
    env: str = "sandbox"
    state: dict[str, Any] = field(default_factory=dict)
    history: list[Turn] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)

    @property
    def last_user_input(self) -> str | None:
        """The text of the user's latest turn, if any."""
        return next((turn.text for turn in reversed(self.history) if turn.speaker == "user"), None)


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: how phrases and user text are compared."""
    return " ".join(re.sub(r"[^\w']+", " ", text.lower()).split())


@dataclass
class Topic:
    """A trigger (phrases and/or regex patterns) with a reply and/or an action function.

    Calling a topic with a function sets its action, so `@agent.topic(...)` works as a decorator.
    """

    phrases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = ()
    reply: str | None = None
    action: Action | None = None
    suggestions: tuple[str, ...] = ()
    name: str | None = None

    def __call__(self, function: Action) -> Action:
        self.action = function
        self.name = self.name or function.__name__
        return function

    @property
    def label(self) -> str:
        """A name for logs: the topic's name, its action's name or its first phrase."""
        return self.name or (self.phrases[0] if self.phrases else "pattern")

    def matches(self, text: str) -> bool:
        """Whether the user's text triggers this topic."""
        padded = f" {normalise(text)} "
        if any(f" {normalise(phrase)} " in padded for phrase in self.phrases if normalise(phrase)):
            return True
        return any(pattern.search(text) for pattern in self.patterns)


class Agent:
    """A scripted agent: a name, a greeting, a fallback line and an ordered list of topics."""

    def __init__(
        self,
        name: str = "Assistant",
        *,
        greeting: str = "Hi! How can I help you today?",
        fallback: str = DEFAULT_FALLBACK,
        avatar_url: str = "",
        suggestions: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.greeting = greeting
        self.fallback = fallback
        self.avatar_url = avatar_url
        self.suggestions = tuple(suggestions)
        self.topics: list[Topic] = []

    def topic(
        self,
        *phrases: str,
        pattern: str | Iterable[str] | None = None,
        reply: str | None = None,
        action: Action | None = None,
        suggestions: Iterable[str] = (),
        name: str | None = None,
    ) -> Topic:
        """Declare a topic. Use it as a decorator to make the decorated function its action."""
        patterns = [pattern] if isinstance(pattern, str) else list(pattern or [])
        if not phrases and not patterns:
            raise ValueError("a topic needs at least one trigger phrase or a pattern")
        new = Topic(
            phrases=tuple(phrases),
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in patterns),
            reply=reply,
            suggestions=tuple(suggestions),
            name=name,
        )
        if action is not None:
            new(action)
        self.topics.append(new)
        return new

    def faq(self, phrases: str | Iterable[str], answer: str, *, suggestions: Iterable[str] = ()) -> Topic:
        """A question with a fixed answer: `agent.faq(["opening hours"], "We're open 9-5")`."""
        listed = [phrases] if isinstance(phrases, str) else list(phrases)
        return self.topic(*listed, reply=answer, suggestions=suggestions)

    def match(self, text: str) -> Topic | None:
        """The first topic that the text triggers."""
        return next((t for t in self.topics if t.matches(text)), None)

    @property
    def functions(self) -> dict[str, Action]:
        """The action functions by name."""
        return {t.action.__name__: t.action for t in self.topics if t.action is not None}

    def check(self) -> list[str]:
        """Problems that would make the agent misbehave (each a sentence), empty when fine."""
        return [
            f"topic {t.label!r} has neither a reply nor an action function"
            for t in self.topics
            if t.reply is None and t.action is None
        ]
