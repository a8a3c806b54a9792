from __future__ import annotations

import asyncio

from simulator.clock import VirtualClock


async def test_virtual_sleepers_wake_in_deadline_order_without_real_waiting() -> None:
    clock = VirtualClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(f"{name}@{clock.monotonic():g}")

    tasks = [asyncio.create_task(sleeper("late", 600)), asyncio.create_task(sleeper("early", 5))]
    await clock.advance(10)
    assert woke == ["early@5"]
    await clock.advance(590)
    assert woke == ["early@5", "late@600"]
    await asyncio.gather(*tasks)


async def test_sleep_started_by_a_woken_task_inside_the_window_also_fires() -> None:
    clock = VirtualClock()
    woke: list[float] = []

    async def chain() -> None:
        await clock.sleep(1)
        await clock.sleep(2)
        woke.append(clock.monotonic())

    task = asyncio.create_task(chain())
    await clock.advance(5)
    assert woke == [3]
    assert clock.monotonic() == 5
    await task
