"""The relay's store (skeleton: filled in by the relay issue)."""

from __future__ import annotations

from simulator.config import Settings


class Store:
    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass


def open_store(settings: Settings) -> Store:
    return Store()
