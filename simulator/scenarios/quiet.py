"""When is a simulator run by the harness idle? Only then may virtual time move.

Everything the harness drives runs in its own event loop: in-process (ASGI) every piece of work is
a task or a callback, so the loop is idle once nothing is ready to run. Over loopback sockets the
server and its clients are in that loop too, but a request can also sit in the kernel between
one end's `send` and the other end's socket turning readable: on a busy machine the kernel may
deliver it milliseconds later, and a loop that looks idle meanwhile is not. So over sockets, idle
also means no connection is still being opened and every byte our sockets sent has been received
by their peers (Linux `TCP_INFO`).
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import struct
import sys
from typing import Any

from simulator.clock import loop_busy

# struct tcp_info (linux/tcp.h): tcpi_unacked, tcpi_bytes_received, tcpi_notsent_bytes, tcpi_bytes_sent,
# tcpi_bytes_retrans.
_UNACKED, _RECEIVED, _NOT_SENT, _SENT, _RETRANS = 24, 128, 144, 200, 208
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
    """True while the kernel still has something for this loop: a connection being opened, data
    waiting for room in a send buffer, or data one of its TCP connections sent that the other end
    has not received yet. False where the kernel cannot tell us (not Linux)."""
    transports = getattr(loop, "_transports", None)
    selector = getattr(loop, "_selector", None)
    if _TCP_INFO is None or transports is None or selector is None:
        return False
    # The loop waits to write only while a connect is under way or a send buffer is full.
    if any(key.events & selectors.EVENT_WRITE for key in selector.get_map().values()):
        return True
    ends: dict[tuple[Any, Any], tuple[int, int, int]] = {}
    readers: list[int] = []
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
        (unacked,) = struct.unpack_from("I", info, _UNACKED)
        (received,) = struct.unpack_from("Q", info, _RECEIVED)
        (not_sent,) = struct.unpack_from("I", info, _NOT_SENT)
        (sent,) = struct.unpack_from("Q", info, _SENT)
        (retransmitted,) = struct.unpack_from("Q", info, _RETRANS)
        ends[(local, peer)] = (sent - retransmitted + not_sent, received, unacked + not_sent)
        if transport.is_reading():
            readers.append(sock.fileno())
    for (local, peer), (sent, _, waiting) in ends.items():
        other = ends.get((peer, local))
        if other is None:
            # The other end is not in the loop yet (a connection the server has not accepted): only
            # this end can tell, by what it has not sent or not had acknowledged.
            if waiting:
                return True
        elif sent > other[1]:
            return True
    # Read last: data that arrived while the counters were read is now waiting to be read, and the
    # loop (which last looked before it arrived) will read it on its next turn.
    return any(_unread(fd) for fd in readers)


def _unread(fd: int) -> int:
    import fcntl  # Unix only: reached only where TCP_INFO is (Linux)
    import termios

    try:
        (count,) = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))
    except OSError:
        return 0
    return int(count)


async def quiesce(*, sockets: bool, limit: float = 2.0) -> None:
    """Wait until nothing is left to do at this instant: the loop quiet and, with `sockets`, nothing
    in flight in the kernel between its connections. Gives up after `limit` real seconds (a loop
    that never settles, or counters the kernel keeps differently), and the caller goes on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        quiet = await loop_quiet()
        if (quiet and not (sockets and bytes_in_flight(loop))) or loop.time() > deadline:
            return
        if quiet:  # only the kernel can move now: give it a moment
            await asyncio.sleep(0.0005)
