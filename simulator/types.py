"""Shapes shared by the parts that one Starlette app mounts."""

from __future__ import annotations

from typing import Protocol

from starlette.routing import BaseRoute


class Part(Protocol):
    """One part of the simulator (emulator, relay, widget): its routes and its lifetime."""

    def routes(self) -> list[BaseRoute]:
        """The routes this part serves, with their full paths."""
        ...

    async def startup(self) -> None:
        """Start background work (delivery workers, timers). Called once before serving."""
        ...

    async def shutdown(self) -> None:
        """Stop background work and close clients. Must not lose accepted work silently."""
        ...

    async def reset(self) -> None:
        """Forget all state (conversations, tickets, sessions) but keep configuration."""
        ...
