"""The relay's chat-side interface: what the widget calls, and the sink the relay delivers to.

The chat side (webchat widget, SMS) speaks the PolyAI Messaging API, so the relay emits
events in that vocabulary (`EVENT_TYPE_...`) and the chat side frames them for its channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field


class ChatEvent(BaseModel):
    """One server event for the end user, before the channel adds id, sequence and timestamp."""

    type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    # Transient events (typing) carry `sequence: null` and are not replayed from history.
    transient: bool = False


class ChatSink(Protocol):
    """Where the relay delivers agent messages, typing and handoff notices for a chat session."""

    async def deliver(self, session_id: str, event: ChatEvent) -> None: ...


class EndUserProfile(BaseModel):
    """Who the end user is, as far as the chat side knows."""

    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class TranscriptTurn(BaseModel):
    """One turn of the bot conversation before the handoff, shown to the agent as context."""

    speaker: Literal["user", "bot"]
    text: str
    timestamp: datetime


class HandoffRequest(BaseModel):
    """What the chat side hands the relay when a bot function returns a handoff payload."""

    session_id: str
    channel: Literal["webchat", "sms"]
    user: EndUserProfile
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    # The bot's display name on transcript turns the agent sees (the relay has a default).
    bot_name: str | None = None
    # Exactly what the bot function returned; the relay validates it.
    payload: dict[str, Any]


class MediaRef(BaseModel):
    """A picture or file the end user sent (an MMS attachment): where it is and what it is."""

    url: str
    content_type: str | None = None


class HandoffPort(Protocol):
    """The relay as the chat side sees it."""

    async def start_handoff(self, request: HandoffRequest) -> None:
        """Begin a handoff. Invalid payloads raise `InvalidHandoffPayload` after telling the user."""
        ...

    async def user_message(
        self,
        session_id: str,
        text: str,
        message_id: str,
        media: list[MediaRef] | None = None,
        *,
        maybe_repeat: bool = False,
    ) -> bool | None:
        """Forward an end-user message (and any media it carries) to the agent, in order, exactly once.

        `maybe_repeat`: the chat side may have handed this message over before (it resumed after
        a crash), so the relay checks before posting it again. Returns False when the session's
        messages are not the relay's (`is_handed_off` is false): nothing was forwarded, the chat
        side answers it. (None, from a port that predates the answer, counts as taken.)
        """
        ...

    async def user_typing(self, session_id: str, typing: bool) -> None:
        """Forward the end user's typing state."""
        ...

    async def user_ended(self, session_id: str) -> None:
        """The end user ended the session: tell the agent side and release control. Also called for a
        session whose handoff failed (messages held for its next handoff are then dropped)."""
        ...

    async def is_handed_off(self, session_id: str) -> bool:
        """Whether this session's messages now belong to the relay (handoff started, not ended)."""
        ...
