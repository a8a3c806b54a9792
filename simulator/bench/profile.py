"""Where the relay's two paths spend their time, measured so that a busy machine barely moves it.

`python -m simulator.bench.profile [--count N] [--rounds R] [--no-trace] [--user-client httpx-ws]
[--pyinstrument FILE.html]` runs what the bench's latency part runs (a fresh simulator per round, one
handed-off conversation, one message at a time, over sockets) and prints, for each path and for the
bare chain with as many hops, the median wall time and the median CPU time of this thread from the
send to the arrival. Everything runs on this one thread, so on a quiet machine the CPU time is the
latency; when neighbours take the cores the wall time grows and the CPU time stays put.
`--user-client httpx-ws` gives the measuring end user httpx-ws's socket instead of the `websockets`
library's (the bench's): how much of each path is the measuring client's own work (see
docs/performance.md). `--pyinstrument` writes a profile of the paths (not the chain) as HTML
(pyinstrument is in the `dev` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from functools import partial
from operator import contains
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from simulator.bench import baseline as bare
from simulator.bench.load import AGENT_MESSAGE, LoadUser, _until
from simulator.bench.measure import handed_off, settled
from simulator.bench.run import AGENT_TO_USER_HOPS, AGENT_TO_USER_WEBHOOK_HOPS, USER_TO_AGENT_HOPS, simulator_on_socket
from simulator.bench.sockets import USER_CLIENTS, UserClient
from simulator.scenarios.actors import event_text
from simulator.zendesk.models import Message


class Figures(BaseModel):
    """Medians in milliseconds: wall and this thread's CPU, per path and for the bare chain."""

    user_to_agent_wall_ms: float
    user_to_agent_cpu_ms: float
    agent_to_user_wall_ms: float
    agent_to_user_cpu_ms: float
    chain_1_hop_cpu_ms: float
    chain_2_hops_cpu_ms: float  # agent->user with the relay's read-back GET not counted
    chain_3_hops_cpu_ms: float


class _Timed(LoadUser):
    """Notes this thread's CPU clock when each agent message reaches the user's socket."""

    cpu_at: dict[str, float]

    def _take(self, event: dict[str, Any]) -> None:
        if event.get("type") == AGENT_MESSAGE:
            self.cpu_at.setdefault(event_text(event), time.thread_time())
        super()._take(event)


async def _paths(count: int, trace: bool, samples: dict[str, list[float]], user_client: UserClient) -> None:
    extra = {} if trace else {"sim_trace_size": 0}
    async with simulator_on_socket("sqlite", **extra) as sim:
        stored: dict[str, tuple[float, float]] = {}
        arrived = asyncio.Event()

        async def heard(conversation: Any, message: Message) -> None:
            if message.author.type == "user" and message.content.text:
                stored.setdefault(message.content.text, (time.perf_counter(), time.thread_time()))
                arrived.set()

        sim.zendesk.conversations.listeners.append(heard)
        async with httpx.AsyncClient(base_url=sim.settings.public_base_url, timeout=30) as client:
            user = _Timed(client, sim.settings, "profile", 0)
            user.user_client = user_client
            user.cpu_at = {}
            try:
                ticket = await handed_off(user, client, "Pro File")
                for i in range(count + 3):  # the first few warm up, as in the bench
                    text, reply = f"profile u {i}", f"profile a {i}"
                    await settled()
                    wall, cpu = time.perf_counter(), time.thread_time()
                    await user.say(text)
                    if not await _until(arrived, partial(contains, stored, text), time.perf_counter() + 30):
                        raise RuntimeError("a user message did not reach SunCo")
                    if i >= 3:
                        samples["u2a wall"].append(stored[text][0] - wall)
                        samples["u2a cpu"].append(stored[text][1] - cpu)
                    await settled()
                    wall, cpu = time.perf_counter(), time.thread_time()
                    posted = await client.post(f"/_sim/agent/tickets/{ticket}/messages", json={"text": reply})
                    posted.raise_for_status()
                    if not await user.until(partial(contains, user.cpu_at, reply), time.perf_counter() + 30):
                        raise RuntimeError("an agent message did not reach the user")
                    if i >= 3:
                        samples["a2u wall"].append(dict(user.agent_texts)[reply] - wall)
                        samples["a2u cpu"].append(user.cpu_at[reply] - cpu)
            finally:
                await user.close()


async def _chain(count: int, samples: dict[str, list[float]]) -> None:
    async with bare.chain_client("socket") as client:
        for hops in (USER_TO_AGENT_HOPS, AGENT_TO_USER_WEBHOOK_HOPS, AGENT_TO_USER_HOPS):
            for i in range(count + 3):
                cpu = time.thread_time()
                await bare.post(client, hops - 1)
                if i >= 3:
                    samples[f"chain {hops}"].append(time.thread_time() - cpu)


async def measure(
    count: int, rounds: int, *, trace: bool = True, profiler: Any = None, user_client: UserClient = "websockets"
) -> Figures:
    """The figures over `rounds` fresh simulators of `count` messages each way (the chain between rounds)."""
    keys = ("u2a wall", "u2a cpu", "a2u wall", "a2u cpu") + tuple(
        f"chain {hops}" for hops in (USER_TO_AGENT_HOPS, AGENT_TO_USER_WEBHOOK_HOPS, AGENT_TO_USER_HOPS)
    )
    samples: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(rounds):
        await _chain(count, samples)
        if profiler is not None:
            profiler.start()
        try:
            await _paths(count, trace, samples, user_client)
        finally:
            if profiler is not None:
                profiler.stop()
    ms = {key: round(statistics.median(values) * 1000, 3) for key, values in samples.items()}
    return Figures(
        user_to_agent_wall_ms=ms["u2a wall"],
        user_to_agent_cpu_ms=ms["u2a cpu"],
        agent_to_user_wall_ms=ms["a2u wall"],
        agent_to_user_cpu_ms=ms["a2u cpu"],
        chain_1_hop_cpu_ms=ms[f"chain {USER_TO_AGENT_HOPS}"],
        chain_2_hops_cpu_ms=ms[f"chain {AGENT_TO_USER_WEBHOOK_HOPS}"],
        chain_3_hops_cpu_ms=ms[f"chain {AGENT_TO_USER_HOPS}"],
    )


def table(figures: Figures) -> str:
    """The figures as a small table, with the CPU ratios (path over chain)."""
    rows = [
        ("user→agent", figures.user_to_agent_wall_ms, figures.user_to_agent_cpu_ms, figures.chain_1_hop_cpu_ms, 1),
        ("agent→user", figures.agent_to_user_wall_ms, figures.agent_to_user_cpu_ms, figures.chain_3_hops_cpu_ms, 3),
        (
            "agent→user, read-back GET not counted",
            figures.agent_to_user_wall_ms,
            figures.agent_to_user_cpu_ms,
            figures.chain_2_hops_cpu_ms,
            2,
        ),
    ]
    lines = ["| path | wall p50 | CPU p50 | bare chain CPU p50 | CPU ratio |", "| --- | --- | --- | --- | --- |"]
    for name, wall, cpu, chain, hops in rows:
        ratio = cpu / chain if chain else float("nan")
        chain_text = f"{chain:.2f} ms ({hops} hop{'s' * (hops > 1)})"
        lines.append(f"| {name} | {wall:.2f} ms | {cpu:.2f} ms | {chain_text} | {ratio:.2f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="messages each way per round (default 60)")
    parser.add_argument("--rounds", type=int, default=5, help="fresh simulators, as the bench's rounds (default 5)")
    parser.add_argument("--no-trace", dest="trace", action="store_false", help="with SIM_TRACE_SIZE=0")
    parser.add_argument(
        "--user-client",
        choices=USER_CLIENTS,
        default="websockets",
        help="the measuring end user's WebSocket client (default websockets, as the bench's)",
    )
    parser.add_argument("--pyinstrument", type=Path, metavar="FILE.html", help="write a profile of the paths")
    args = parser.parse_args(argv)
    from simulator.bench.run import _quiet_logs
    from simulator.logs import install_redaction

    install_redaction()
    _quiet_logs()
    profiler = None
    if args.pyinstrument is not None:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("--pyinstrument needs pyinstrument (pip install -e '.[dev]')", file=sys.stderr)
            return 2
        profiler = Profiler(interval=0.0002, async_mode="disabled")
    figures = asyncio.run(
        measure(args.count, args.rounds, trace=args.trace, profiler=profiler, user_client=args.user_client)
    )
    print(table(figures))
    if profiler is not None:
        args.pyinstrument.write_text(profiler.output_html())
        print(f"profile written to {args.pyinstrument}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
