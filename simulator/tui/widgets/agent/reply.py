"""The agent's reply box: Enter sends; typing shows the user that the agent is typing."""

from __future__ import annotations

from textual.widgets import Input

from simulator.tui.messages import AgentSubmitted, AgentTyping


class ReplyBox(Input):
    """Type as the Zendesk agent."""

    _typing = False

    def __init__(self, agent_name: str) -> None:
        super().__init__(placeholder=f"Reply as {agent_name}… (F2 accept, F4 solve)", id="reply")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        typing = bool(event.value)
        if typing != self._typing:
            self._typing = typing
            self.post_message(AgentTyping(typing))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self._typing = False
        self.clear()
        if text:
            self.post_message(AgentSubmitted(text))
