"""The bot engine: runs an `Agent`'s topics and functions for one conversation turn at a time."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from simulator.clock import Clock
from simulator.logs import kv
from simulator.widget.agent import Conversation, Topic, Turn
from simulator.widget.loader import LoadedAgent

log = logging.getLogger("simulator.widget.bot")


@dataclass
class BotReply:
    """What the bot does with a turn: say `text`, and possibly hand off (`handoff` is the whole payload)."""

    text: str | None
    suggestions: list[str] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    failed: bool = False  # the agent's function raised or returned something unusable
    topic: str | None = None  # None when the fallback answered


class AgentFunctionError(Exception):
    """An action function returned something the engine can't use."""


class Bot:
    """Answers user turns with the loaded agent, keeping each conversation's history and memory."""

    def __init__(self, loaded: LoadedAgent, clock: Clock, project_id: str) -> None:
        self.agent = loaded.agent
        self.source = loaded.source
        self.clock = clock
        self.project_id = project_id
        # Agent Memory outlives a session: keyed by caller (phone number or email).
        self._memory: dict[str, dict[str, Any]] = {}

    def new_conversation(self, session_id: str, channel_type: str, caller_number: str | None) -> Conversation:
        """The `conv` object for a new session."""
        memory = self._memory.setdefault(caller_number, {}) if caller_number else {}
        return Conversation(
            id=session_id,
            project_id=self.project_id,
            channel_type=channel_type,
            caller_number=caller_number,
            memory=memory,
        )

    def greet(self, conv: Conversation) -> BotReply:
        """The agent's greeting, recorded in the history."""
        self._said(conv, self.agent.greeting)
        return BotReply(self.agent.greeting, list(self.agent.suggestions), topic="greeting")

    async def respond(self, conv: Conversation, text: str) -> BotReply:
        """Run the first matching topic (or the fallback) for the user's `text`."""
        conv.history.append(Turn("user", text, self.clock.now()))
        topic = self.agent.match(text)
        if topic is None:
            reply = BotReply(self.agent.fallback, list(self.agent.suggestions))
        else:
            reply = await self._run(conv, topic)
        if reply.text:
            self._said(conv, reply.text)
        return reply

    async def _run(self, conv: Conversation, topic: Topic) -> BotReply:
        suggestions = list(topic.suggestions)
        if topic.action is None:
            return BotReply(topic.reply, suggestions, topic=topic.label)
        name = getattr(topic.action, "__name__", repr(topic.action))
        try:
            result = topic.action(conv)
            if inspect.isawaitable(result):
                result = await result
            text, handoff = self._interpret(result, topic)
        except AgentFunctionError as exc:
            # The function ran fine but returned something unusable: the why, without the engine's frames.
            log.error(kv("agent.function_failed", file=self.source, function=name, topic=topic.label, error=str(exc)))
            return BotReply(None, failed=True, topic=topic.label)
        except Exception:
            # The developer needs the traceback; the end user only a polite error.
            log.exception(kv("agent.function_failed", file=self.source, function=name, topic=topic.label))
            return BotReply(None, failed=True, topic=topic.label)
        log.info(kv("agent.function", function=name, topic=topic.label, handoff=handoff is not None))
        return BotReply(text, suggestions, handoff=handoff, topic=topic.label)

    @staticmethod
    def _interpret(result: Any, topic: Topic) -> tuple[str | None, dict[str, Any] | None]:
        if result is None:
            return topic.reply, None
        if isinstance(result, str):
            return result, None
        if isinstance(result, dict):
            utterance = result.get("utterance")
            if utterance is not None and not isinstance(utterance, str):
                raise AgentFunctionError(f"'utterance' must be a string, got {type(utterance).__name__}")
            if utterance is None and "handoff" not in result:
                raise AgentFunctionError(
                    f"returned a dict with neither 'utterance' nor 'handoff' (keys: {sorted(map(str, result))})"
                )
            return utterance, (result if "handoff" in result else None)
        raise AgentFunctionError(
            f"returned {type(result).__name__}; expected a string, {{'utterance': ...}} or a handoff payload"
        )

    def _said(self, conv: Conversation, text: str) -> None:
        conv.history.append(Turn("bot", text, self.clock.now()))

    def reset(self) -> None:
        """Forget every caller's memory."""
        self._memory.clear()
