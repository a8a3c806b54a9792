"""The `bench` and `load` command lines (the work is imported only when one of them runs)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

Store = Literal["sqlite", "memory"]


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the whole bench; print the table (or, with --json, one JSON object)."""
    from simulator.bench.run import cmd_bench as run

    return run(args)


def cmd_load(args: argparse.Namespace) -> int:
    """Run the load against a running simulator."""
    from simulator.bench.run import cmd_load as run

    return run(args)


def _stores(text: str) -> list[Store]:
    stores = [s.strip() for s in text.split(",") if s.strip()]
    for store in stores:
        if store not in ("sqlite", "memory"):
            raise argparse.ArgumentTypeError(f"unknown store {store!r} (sqlite, memory)")
    return stores  # type: ignore[return-value]


def add_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `bench` and `load` on the CLI's subparsers."""
    bench = sub.add_parser("bench", help="measure the relay against a bare hop chain, in one run")
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    bench.add_argument("--quick", action="store_true", help="a reduced size (seconds, for CI)")
    bench.add_argument("--plot", type=Path, metavar="FILE.svg", help="draw latency against concurrent conversations")
    bench.add_argument("--conversations", type=int, help="conversations in the load (default 1000)")
    bench.add_argument("--messages", type=int, help="messages each way per conversation (default 10)")
    bench.add_argument("--idle", type=int, help="idle handed-off conversations for the memory figure (default N)")
    bench.add_argument("--ramp", type=float, help="seconds over which the handoffs start (default 1)")
    bench.add_argument(
        "--think", type=float, metavar="S", help="the paced run's seconds of thinking before each message (default 20)"
    )
    bench.add_argument(
        "--clients-in-process",
        action="store_true",
        help="run the load's clients and the bare chain's senders in the bench's process (default: a child process)",
    )
    bench.add_argument("--stores", type=_stores, default=["sqlite", "memory"], help="stores to measure (sqlite,memory)")
    bench.add_argument(
        "--only",
        choices=["latency", "memory"],
        help="run one part: latency = the bare chain and the relay's paths, one message at a time (about a minute); "
        "memory = idle handed-off conversations against bare sockets (size with --idle)",
    )
    common(bench)
    bench.set_defaults(run=cmd_bench)

    load = sub.add_parser("load", help="run conversations against a running simulator, with a progress bar")
    load.add_argument("--conversations", type=int, default=1000, help="concurrent conversations (default 1000)")
    load.add_argument("--messages", type=int, default=10, help="messages each way per conversation (default 10)")
    load.add_argument("--target", help="base URL of the simulator (default: SIM_HOST:SIM_PORT)")
    load.add_argument("--ramp", type=float, default=1.0, help="seconds over which the handoffs start (default 1)")
    load.add_argument(
        "--think",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds each user waits (0.5-1.5x at random) before each message, as people type (default 0: flat out)",
    )
    load.add_argument(
        "--closed",
        action="store_true",
        help="each conversation's next exchange waits until its user has the agent's last message "
        "(default: the agent posts the next as soon as Zendesk has stored the last)",
    )
    load.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    common(load)
    load.set_defaults(run=cmd_load)
