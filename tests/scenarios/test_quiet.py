"""The harness moves virtual time only when the simulator is idle, however slow the machine is."""

from __future__ import annotations

import asyncio
import sys

import pytest

from simulator.scenarios.harness import Harness
from simulator.scenarios.quiet import bytes_in_flight, loop_quiet, quiesce

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's TCP counters are Linux's")


async def test_an_expectation_lets_work_in_flight_finish_before_spending_virtual_time() -> None:
    async with Harness() as sim:
        done: list[bool] = []

        async def long_chain() -> None:  # work that takes many turns of the loop, and no time
            for _ in range(200):
                await asyncio.sleep(0)
            done.append(True)

        timer = asyncio.create_task(sim.clock.sleep(1))
        chain = asyncio.create_task(long_chain())
        assert await sim.eventually(lambda: bool(done), within=5)
        assert sim.clock.monotonic() == 0  # nothing of the 5 virtual seconds was spent waiting for it
        assert not timer.done()
        # Once nothing is left to do, time jumps straight to the next timer, and no further.
        assert await sim.eventually(timer.done, within=5)
        assert sim.clock.monotonic() == 1
        await chain


async def test_a_wait_fires_timers_one_by_one_each_after_the_work_the_last_one_set_off() -> None:
    async with Harness() as sim:
        seen: list[tuple[float, int]] = []

        async def wake_then_work(at: float, turns: int) -> None:
            await sim.clock.sleep(at)
            for _ in range(turns):
                await asyncio.sleep(0)
            seen.append((sim.clock.monotonic(), turns))

        tasks = [asyncio.create_task(wake_then_work(1, 100)), asyncio.create_task(wake_then_work(2, 1))]
        await sim.advance(10)
        assert seen == [(1, 100), (2, 1)]  # the first timer's work was done before time moved on
        await asyncio.gather(*tasks)


@linux_only
async def test_data_sent_and_not_yet_read_is_in_flight() -> None:
    loop = asyncio.get_running_loop()
    received = bytearray()
    reading = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reading.wait()
        while len(received) < 4_000_000:
            received.extend(await reader.read(1 << 16))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await loop_quiet() and not bytes_in_flight(loop)

    writer.write(b"x" * 4_000_000)  # more than the kernel's buffers hold: the rest waits in ours
    assert bytes_in_flight(loop)
    assert await loop_quiet()  # nothing to run: the server is not reading
    assert bytes_in_flight(loop)  # ...and yet not idle: the bytes are on their way

    reading.set()
    await writer.drain()
    await quiesce(sockets=True)
    assert len(received) == 4_000_000 and not bytes_in_flight(loop)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
