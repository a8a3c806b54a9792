"""The agent's reply box: Enter sends; typing shows the user that the agent is typing."""

from __future__ import annotations

from simulator.tui.messages import AgentSubmitted, AgentTyping
from simulator.tui.widgets.typing_input import TypingInput


class ReplyBox(TypingInput):
    """Type as the Zendesk agent."""

    def __init__(self, agent_name: str) -> None:
        super().__init__(
            placeholder=f"Reply as {agent_name}… (F2 accept, F4 solve)",
            id="reply",
            typing=AgentTyping,
            submitted=AgentSubmitted,
        )
