"""When is a simulator run by the harness idle? Only then may virtual time move.

Everything the harness drives runs in its own event loop: in-process (ASGI) every piece of work is
a task or a callback, so the loop is idle once nothing is ready to run. Over loopback sockets the
server and its clients are in that loop too, but a request can also sit in the kernel between
one end's `send` and the other end's socket turning readable: on a busy machine the kernel may
deliver it milliseconds later, and a loop that looks idle meanwhile is not. So over sockets, idle
also means every byte our sockets sent has been received by their peers (Linux `TCP_INFO`).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from typing import Any

from simulator.clock import loop_busy

# struct tcp_info (linux/tcp.h): tcpi_bytes_received, tcpi_notsent_bytes, tcpi_bytes_sent, tcpi_bytes_retrans.
_RECEIVED, _NOT_SENT, _SENT, _RETRANS = 128, 144, 200, 208
_TCP_INFO_SIZE = 216
_TCP_INFO = getattr(socket, "TCP_INFO", None) if sys.platform.startswith("linux") else None


async def loop_quiet(max_rounds: int = 500) -> bool:
    """Let the loop run until two iterations in a row find nothing to run (True), or `max_rounds`
    iterations passed (False). Loopback data already readable counts as something to run: the
    loop polls its sockets on every iteration."""
    loop = asyncio.get_running_loop()
    quiet = 0
    for _ in range(max_rounds):
        await asyncio.sleep(0)
        quiet = 0 if loop_busy(loop) else quiet + 1
        if quiet >= 2:
            return True
    return False


def bytes_in_flight(loop: asyncio.AbstractEventLoop) -> bool:
    """True while a TCP connection between two ends in this loop has data sent and not yet
    received (or still queued to send). False where the kernel cannot tell us (not Linux)."""
    transports = getattr(loop, "_transports", None)
    if _TCP_INFO is None or transports is None:
        return False
    ends: dict[tuple[Any, Any], tuple[int, int]] = {}
    for transport in list(transports.values()):
        if transport is None or transport.is_closing():
            continue
        if transport.get_write_buffer_size():
            return True  # still in our own buffer: the kernel's was full
        sock = transport.get_extra_info("socket")
        if sock is None or sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
            local, peer = sock.getsockname(), sock.getpeername()
        except OSError:
            continue
        if len(info) < _TCP_INFO_SIZE:
            return False  # an older kernel: these counters are not there
        (received,) = struct.unpack_from("Q", info, _RECEIVED)
        (not_sent,) = struct.unpack_from("I", info, _NOT_SENT)
        (sent,) = struct.unpack_from("Q", info, _SENT)
        (retransmitted,) = struct.unpack_from("Q", info, _RETRANS)
        ends[(local, peer)] = (sent - retransmitted + not_sent, received)
    for (local, peer), (sent, _) in ends.items():
        other = ends.get((peer, local))
        if other is not None and sent > other[1]:
            return True
    return False


async def quiesce(*, sockets: bool, limit: float = 2.0) -> bool:
    """Wait until nothing is left to do at this instant: the loop quiet and, with `sockets`, no
    byte in flight between two of its connections. False if that took longer than `limit` real
    seconds (something is still busy; callers then treat the system as not idle)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        quiet = await loop_quiet()
        if quiet and not (sockets and bytes_in_flight(loop)):
            return True
        if loop.time() > deadline:
            return False
        if quiet:  # only the kernel can move now: give it a moment
            await asyncio.sleep(0.0005)
