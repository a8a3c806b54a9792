"""The widget part (skeleton: filled in by the chat-side issue)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute

from simulator.clock import Clock
from simulator.config import Settings
from simulator.relay.chat import ChatEvent, HandoffPort


class WidgetServer:
    def __init__(
        self, settings: Settings, clock: Clock, handoff: HandoffPort, *, agent_file: Path | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.handoff = handoff
        self.agent_file = agent_file

    async def deliver(self, session_id: str, event: ChatEvent) -> None:
        pass

    def routes(self) -> list[BaseRoute]:
        return []

    async def startup(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def reset(self) -> None:
        pass
