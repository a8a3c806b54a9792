"""Shapes shared by the parts that one Starlette app mounts."""

from __future__ import annotations

from typing import Protocol


class Part(Protocol):
    """The lifetime of one part of the simulator (emulator, relay, widget).

    Routes are mounted by the app: the emulator and widget hand theirs over with `routes()`,
    while the relay's two webhook routes delegate to whichever relay instance is current, so a
    restarted relay takes over the same URLs.
    """

    async def startup(self) -> None:
        """Start background work (delivery workers, timers). Called once before serving."""
        ...

    async def shutdown(self) -> None:
        """Stop background work and close clients. Must not lose accepted work silently."""
        ...

    async def reset(self) -> None:
        """Forget all state (conversations, tickets, sessions) but keep configuration."""
        ...
