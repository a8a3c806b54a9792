"""The `bench` and `load` commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from simulator.app import SimulatorApp
from simulator.bench import baseline as bare
from simulator.bench import measure, remote
from simulator.bench.load import LoadResult, Progress, run_load
from simulator.bench.plot import latency_svg
from simulator.bench.report import (
    BenchResult,
    HopFigures,
    MemoryResult,
    PathFigures,
    bench_table,
    load_table,
    memory_table,
)
from simulator.bench.serving import serve_app
from simulator.bench.sockets import UserClient
from simulator.bench.stats import percentile, ratio, rounded
from simulator.config import Settings, load_settings
from simulator.gc_tuning import tune_for_serving
from simulator.server import running_server

Store = Literal["sqlite", "memory"]
# Exchanges each path makes (WebSocket frames are not counted): user->agent is the relay's POST to
# SunCo; agent->user is the agent's POST to Zendesk, SunCo's webhook to the relay, and the relay's
# read-back GET of the conversation's messages (how it shows them in SunCo's order, whatever order
# the webhooks came in).
USER_TO_AGENT_HOPS = 1
AGENT_TO_USER_HOPS = 3
# Agent->user with the read-back GET left out: the chain `ratio_agent_to_user` was over until
# 28 November 2026, still reported (`ratio_agent_to_user_2_hops`) so the series stays comparable.
AGENT_TO_USER_WEBHOOK_HOPS = 2


class Sizes:
    """How big each part of the bench is (`--quick` shrinks everything for CI)."""

    def __init__(self, args: argparse.Namespace) -> None:
        quick = bool(args.quick)
        self.quick = quick
        self.conversations: int = args.conversations or (10 if quick else 1000)
        self.messages: int = args.messages if args.messages is not None else (3 if quick else 10)
        self.idle: int = args.idle or (10 if quick else self.conversations)
        self.samples = 20 if quick else 300
        self.rounds = 1 if quick else 5
        self.baseline_messages = 200 if quick else 4000
        levels = [] if quick else [10, 100]
        self.levels = [n for n in levels if n < self.conversations] + [self.conversations]
        self.stores: list[Store] = args.stores
        self.ramp: float = args.ramp if args.ramp is not None else (0.2 if quick else 1.0)
        self.only: str | None = getattr(args, "only", None)
        # The load's clients and the bare chain's senders in a child process (the second core).
        self.clients_apart = not getattr(args, "clients_in_process", False)
        # A paced run besides the flat-out ones: users think before each message, as people do, so
        # latency under load is the relay's and not a backlog's (flat out, p99 is the queue's length).
        self.paced_messages = 2 if quick else 3
        self.think: float = args.think if getattr(args, "think", None) is not None else (0.5 if quick else 20.0)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def fresh_settings(state: Path, store: Store, **extra: Any) -> Settings:
    return load_settings({"sim_state_dir": state, "relay_store": store, **extra}, environ={}, persist_generated=False)


@contextlib.asynccontextmanager
async def simulator_on_socket(store: Store, **extra: Any) -> AsyncIterator[SimulatorApp]:
    """The whole simulator, real time, on a loopback socket in this process, in a fresh state folder.

    The garbage collector is set up as `serve` sets it up; what earlier parts of the bench left alive
    is frozen with start-up's objects, so a long bench process does not add their collection to
    later parts.
    """
    tune_for_serving()
    with tempfile.TemporaryDirectory(prefix="bench-") as state:
        async with running_server(lambda s: SimulatorApp(s), fresh_settings(Path(state), store, **extra)) as sim:
            yield sim


def cpu_seconds() -> float:
    """CPU this process has used (every thread: the store's checkpointer counts too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _sample_cpu(samples: list[tuple[float, float]], every: float = 0.2) -> None:
    """(wall time, this process's CPU seconds), every `every` seconds until cancelled."""
    while True:
        samples.append((time.time(), cpu_seconds()))
        await asyncio.sleep(every)


def _cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    """CPU seconds spent between two wall times, from the nearest samples around them."""
    before = [cpu for at, cpu in samples if at <= start] or [samples[0][1]]
    after = [cpu for at, cpu in samples if at >= end] or [samples[-1][1]]
    return after[0] - before[-1]


class ChainLoad(NamedTuple):
    """The bare chain under load: its rate, and its latency with as many senders as conversations."""

    messages_per_second: float
    server_cpu_ms_per_message: float | None  # the chain's process, senders apart
    senders: int  # the crowd: as many as the load's conversations, each as fast as answered
    p50_ms: float
    p99_ms: float


async def baseline_load(sizes: Sizes) -> ChainLoad:
    """Messages/s through the bare chain over sockets, with the relay's mix of 1 and 2 exchanges
    (and, senders apart, the chain's CPU per message in ms); then its latency with as many senders
    as the load has conversations, each sending as many messages as a conversation relays, flat out:
    what a bare chain's p50/p99 is at the concurrency the relay's flat-out p99 is measured at."""
    # 2 exchanges for agent->user, not 3: under load one read-back GET often shows several agent
    # messages, so a GET per message would credit the chain with work the relay does not do.
    mix, senders = (USER_TO_AGENT_HOPS, AGENT_TO_USER_WEBHOOK_HOPS), min(100, sizes.conversations)
    crowd, crowd_total = sizes.conversations, sizes.conversations * max(1, sizes.messages) * 2
    cpu_ms = None
    if sizes.clients_apart:
        cpu = cpu_seconds()
        rate = (await remote.chain_run_in_child(mix, senders, sizes.baseline_messages)).messages_per_second
        cpu_ms = (cpu_seconds() - cpu) * 1000 / sizes.baseline_messages
        crowded = await remote.chain_run_in_child(mix, crowd, crowd_total)
    else:
        async with bare.chain_client("socket") as client:
            rate = (await bare.run_mix(client, mix, senders, sizes.baseline_messages)).messages_per_second
        async with bare.chain_client("socket", crowd) as client:
            crowded = await bare.run_mix(client, mix, crowd, crowd_total)
    p50, p99 = percentile(crowded.latencies_ms, 50), percentile(crowded.latencies_ms, 99)
    assert p50 is not None and p99 is not None
    return ChainLoad(rate, cpu_ms, crowd, p50, p99)


async def chain_samples(transport: bare.Transport, count: int) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds through the bare chain: (1 exchange, 2 exchanges, 3 exchanges)."""
    async with bare.chain_client(transport) as client:
        one = await bare.latencies(client, 1, count)
        two = await bare.latencies(client, 2, count)
        return one, two, await bare.latencies(client, 3, count)


async def path_samples(
    store: Store, count: int, user_client: UserClient = "websockets", **extra: Any
) -> tuple[list[float], list[float]]:
    """Milliseconds for the relay's paths on a fresh simulator: (user->agent, agent->user)."""
    async with simulator_on_socket(store, **extra) as sim:
        return await measure.path_latencies(sim.settings.public_base_url, sim.settings, sim, count, user_client)


def hop_figures(one: list[float], two: list[float], three: list[float], load: ChainLoad | None = None) -> HopFigures:
    return HopFigures(
        server_cpu_ms_per_message=rounded(load.server_cpu_ms_per_message, 2) if load else None,
        p50_1_hop_ms=rounded(percentile(one, 50), 3),
        p99_1_hop_ms=rounded(percentile(one, 99), 3),
        p50_2_hops_ms=rounded(percentile(two, 50), 3),
        p99_2_hops_ms=rounded(percentile(two, 99), 3),
        p50_3_hops_ms=rounded(percentile(three, 50), 3),
        p99_3_hops_ms=rounded(percentile(three, 99), 3),
        messages_per_second=rounded(load.messages_per_second, 1) if load else None,
        senders_under_load=load.senders if load else None,
        p50_under_load_ms=rounded(load.p50_ms, 1) if load else None,
        p99_under_load_ms=rounded(load.p99_ms, 1) if load else None,
    )


def path_figures(
    u2a: list[float],
    a2u: list[float],
    base: HopFigures,
    same: HopFigures | None = None,
    by_round: list[tuple[float | None, float | None]] | None = None,
) -> PathFigures:
    """The path's figures over every round's samples; `by_round`: each round's own two ratios."""
    p50_u2a, p50_a2u = percentile(u2a, 50), percentile(a2u, 50)
    return PathFigures(
        ratio_user_to_agent_by_round=[rounded(r[0]) for r in by_round or []],
        ratio_agent_to_user_by_round=[rounded(r[1]) for r in by_round or []],
        ratio_user_to_agent_same_client=rounded(ratio(p50_u2a, same.p50_1_hop_ms)) if same else None,
        ratio_agent_to_user_same_client=rounded(ratio(p50_a2u, same.p50_3_hops_ms)) if same else None,
        p50_user_to_agent_ms=rounded(p50_u2a, 3),
        p99_user_to_agent_ms=rounded(percentile(u2a, 99), 3),
        p50_agent_to_user_ms=rounded(p50_a2u, 3),
        p99_agent_to_user_ms=rounded(percentile(a2u, 99), 3),
        ratio_user_to_agent=rounded(ratio(p50_u2a, base.p50_1_hop_ms)),
        ratio_agent_to_user=rounded(ratio(p50_a2u, base.p50_3_hops_ms)),
        ratio_agent_to_user_2_hops=rounded(ratio(p50_a2u, base.p50_2_hops_ms)),
    )


class Latency(NamedTuple):
    """The latency part's figures: the chain's, each store's paths, and the sqlite paths' variants."""

    baseline: dict[str, HopFigures]
    paths: dict[str, PathFigures]
    trace: dict[str, PathFigures]  # "on" (the default size) / "off" (SIM_TRACE_SIZE=0)
    user_client: dict[str, PathFigures]  # the measuring end user on each WebSocket client


async def latency_rounds(sizes: Sizes) -> Latency:
    """The bare chain and the relay's paths, measured in interleaved rounds (chain, each store,
    trace off, httpx-ws's end user, again...) so a neighbour's load on the machine falls on all of
    them alike."""
    variants: dict[str, tuple[Store, UserClient, dict[str, Any]]] = {
        store: (store, "websockets", {}) for store in sizes.stores
    }
    variants["trace off"] = ("sqlite", "websockets", {"sim_trace_size": 0})
    variants["httpx-ws"] = ("sqlite", "httpx-ws", {})
    chain: dict[str, tuple[list[float], list[float], list[float]]] = {
        "asgi": ([], [], []),
        "socket": ([], [], []),
        "socket-outbound": ([], [], []),
    }
    paths: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in variants}
    # Each round's ratios on their own: every round is a fresh simulator, and fresh simulators of the
    # same code differ by up to ±20% on the paths (docs/performance.md), which one pooled p50 hides.
    by_round: dict[str, list[tuple[float | None, float | None]]] = {name: [] for name in variants}
    per_round = max(10, sizes.samples // sizes.rounds)
    for _ in range(sizes.rounds):
        this_round: dict[str, tuple[list[float], list[float], list[float]]] = {}
        for transport, samples in chain.items():
            this_round[transport] = await chain_samples(transport, per_round)  # type: ignore[arg-type]
            for kept, more in zip(samples, this_round[transport], strict=True):
                kept += more
        # The chain's p50s as `hop_figures` keeps them (ms to 3 places), so that one round's ratios are
        # the headline's to the last digit.
        one = rounded(percentile(this_round["socket"][0], 50), 3)
        three = rounded(percentile(this_round["socket"][2], 50), 3)
        for name, (store, user_client, extra) in variants.items():
            u2a, a2u = await path_samples(store, per_round, user_client, **extra)
            paths[name][0].extend(u2a)
            paths[name][1].extend(a2u)
            by_round[name].append((ratio(percentile(u2a, 50), one), ratio(percentile(a2u, 50), three)))
    # The rate belongs to the load part.
    load = await baseline_load(sizes) if sizes.only is None else None
    hops = {t: hop_figures(*samples, load if t == "socket" else None) for t, samples in chain.items()}
    figures = {
        name: path_figures(u2a, a2u, hops["socket"], hops["socket-outbound"], by_round[name])
        for name, (u2a, a2u) in paths.items()
    }
    trace_off, httpx_ws = figures.pop("trace off"), figures.pop("httpx-ws")
    if "sqlite" not in figures:
        return Latency(hops, figures, {}, {})
    return Latency(
        hops,
        figures,
        {"on": figures["sqlite"], "off": trace_off},
        {"websockets": figures["sqlite"], "httpx-ws": httpx_ws},
    )


async def load_figures(
    store: Store,
    conversations: int,
    sizes: Sizes,
    progress: Progress,
    messages: int | None = None,
    on_idle: Callable[[], Awaitable[None]] | None = None,
    ramp: float | None = None,
    handoff_timeout: float = 60.0,
    think: float = 0.0,
    closed: bool = False,
) -> LoadResult:
    async with simulator_on_socket(store) as sim:
        if sizes.clients_apart and on_idle is None:
            samples: list[tuple[float, float]] = []
            sampler = asyncio.create_task(_sample_cpu(samples))
            try:
                result = await remote.load_in_child(
                    sim.settings.public_base_url,
                    sim.settings,
                    conversations=conversations,
                    messages=sizes.messages if messages is None else messages,
                    ramp=sizes.ramp if ramp is None else ramp,
                    think=think,
                    closed=closed,
                )
            finally:
                sampler.cancel()
            samples.append((time.time(), cpu_seconds()))
            result.server_cpu_seconds = round(samples[-1][1] - samples[0][1], 2)
            if result.messages_window is not None and result.messages_delivered:
                spent = _cpu_between(samples, *result.messages_window)
                result.server_cpu_ms_per_message = rounded(spent * 1000 / result.messages_delivered, 2)
            return result
        return await run_load(
            sim.settings.public_base_url,
            sim.settings,
            conversations=conversations,
            messages=sizes.messages if messages is None else messages,
            ramp=sizes.ramp if ramp is None else ramp,
            handoff_timeout=handoff_timeout,
            sim=sim,
            progress=progress,
            on_idle=on_idle,
            think=think,
            closed=closed,
        )


async def bare_socket_kb(count: int) -> float:
    chain = bare.HopChain()
    async with serve_app(chain.app) as url:
        return await measure.bare_socket_bytes(url, count) / 1024


async def memory_figures(
    sizes: Sizes, progress: Progress, say: Callable[[str], None]
) -> tuple[float, float, LoadResult | None]:
    """KB per idle handed-off conversation, KB per bare WebSocket, and the load run that built them."""
    say(f"memory: {sizes.idle} idle handed-off conversations, then as many bare sockets ...")
    built: list[LoadResult] = []

    async def idle_run(on_idle: Callable[[], Awaitable[None]]) -> object:
        # tracemalloc makes every allocation several times dearer: handoffs are spread out and given
        # longer, so every conversation is handed off when the figure is taken (what is measured is
        # memory, not speed).
        result = await load_figures(
            "sqlite",
            sizes.idle,
            sizes,
            progress,
            messages=0,
            on_idle=on_idle,
            ramp=max(sizes.ramp, sizes.idle / 50),
            handoff_timeout=600.0,
        )
        built.append(result)
        return result

    idle_kb = await measure.measure_idle(idle_run, sizes.idle) / 1024
    say(f"memory: {idle_kb:.1f} KB per idle handed-off conversation; now the bare sockets ...")
    socket_kb = await bare_socket_kb(sizes.idle)
    return idle_kb, socket_kb, built[0] if built else None


async def run_memory(sizes: Sizes, progress: Progress, say: Callable[[str], None]) -> MemoryResult:
    """Only the memory part of the bench (`bench --only memory`)."""
    started = time.perf_counter()
    idle_kb, socket_kb, built = await memory_figures(sizes, progress, say)
    return MemoryResult(
        idle_conversations=sizes.idle,
        handoffs_completed=built.handoffs_completed if built else 0,
        memory_per_idle_conversation_kb=rounded(idle_kb, 1),
        memory_per_bare_socket_kb=rounded(socket_kb, 1),
        memory_beyond_bare_socket_kb=rounded(idle_kb - socket_kb, 1),
        peak_memory_mb=round(measure.peak_memory_mb(), 1),
        cores=cores(),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        wall_seconds=round(time.perf_counter() - started, 1),
    )


async def run_bench(sizes: Sizes, progress: Progress, say: Callable[[str], None]) -> BenchResult:
    """Every part of the bench, in this process, one after another (`--only latency`: that part alone)."""
    started = time.perf_counter()
    load_average = list(os.getloadavg())
    if sizes.only == "latency":
        say("bare chain and the relay's paths, one message at a time, in interleaved rounds ...")
        return latency_result(sizes, await latency_rounds(sizes), load_average, started)
    say("start-up ...")
    startup = measure.simulator_startup(attempts=1 if sizes.quick else 3, warm=not sizes.quick)
    bare_startup = measure.bare_startup(attempts=1 if sizes.quick else 3)
    say("replay ...")
    library = measure.scenario_library()
    replay_paths = sorted(library.glob("*.json"))[:3] if sizes.quick else [library]
    replay_s, replay_ok = await measure.replay_seconds(replay_paths)
    replay_socket = None if sizes.quick else (await measure.replay_seconds([library], "socket"))[0]
    say("bare chain and the relay's paths, one message at a time, in interleaved rounds ...")
    latency = await latency_rounds(sizes)
    baseline, paths = latency.baseline, latency.paths
    loads: dict[str, list[LoadResult]] = {}
    for store in sizes.stores:
        loads[store] = []
        for level in sizes.levels:
            say(f"load: {store} store, {level} conversations x {sizes.messages} messages each way ...")
            loads[store].append(await load_figures(store, level, sizes, progress))
    main_store = "sqlite" if "sqlite" in loads else sizes.stores[0]
    say(
        f"load, paced: {main_store} store, {sizes.conversations} conversations x {sizes.paced_messages} "
        f"messages each way, {sizes.think:g} s of thinking before each ..."
    )
    paced = await load_figures(
        main_store, sizes.conversations, sizes, progress, messages=sizes.paced_messages, think=sizes.think
    )
    say(
        f"load, closed: {main_store} store, {sizes.conversations} conversations x {sizes.messages} messages each "
        "way, each exchange once the user has the agent's last message ..."
    )
    closed = await load_figures(main_store, sizes.conversations, sizes, progress, closed=True)
    idle_kb, socket_kb, _ = await memory_figures(sizes, progress, say)
    main = loads[main_store][-1]
    every_run = [*(r for runs in loads.values() for r in runs), paced, closed]
    return BenchResult(
        **_path_ratios(paths[main_store], latency),
        messages_per_second=main.messages_per_second,
        baseline_messages_per_second=baseline["socket"].messages_per_second,
        messages_lost=sum(r.messages_lost for r in every_run),
        messages_reordered=sum(r.messages_reordered for r in every_run),
        messages_duplicated=sum(r.messages_duplicated for r in every_run),
        p99_agent_to_user_ms=main.p99_agent_to_user_ms,
        baseline_p99_under_load_ms=baseline["socket"].p99_under_load_ms,
        p99_agent_to_user_paced_ms=paced.p99_agent_to_user_ms,
        paced=paced,
        p99_agent_to_user_closed_ms=closed.p99_agent_to_user_ms,
        closed=closed,
        memory_per_idle_conversation_kb=rounded(idle_kb, 1),
        startup_seconds=rounded(startup, 3),
        replay_seconds=rounded(replay_s, 3),
        conversations=sizes.conversations,
        **_where(sizes, load_average),
        messages_each_way=sizes.messages,
        baseline=baseline,
        paths=paths,
        load=loads,
        memory_per_bare_socket_kb=rounded(socket_kb, 1),
        memory_beyond_bare_socket_kb=rounded(idle_kb - socket_kb, 1),
        idle_conversations=sizes.idle,
        peak_memory_mb=round(measure.peak_memory_mb(), 1),
        baseline_startup_seconds=rounded(bare_startup, 3),
        replay_passed=replay_ok,
        replay_socket_seconds=rounded(replay_socket, 3),
        trace=latency.trace,
        user_client=latency.user_client,
        wall_seconds=round(time.perf_counter() - started, 1),
    )


def _where(sizes: Sizes, load_average: list[float]) -> dict[str, Any]:
    """The run's machine and moment, as every bench object states them."""
    return {
        "cores": cores(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()} {_cpu_name()}".strip(),
        "python": platform.python_version(),
        "quick": sizes.quick,
        "load_average": [round(v, 2) for v in load_average],
    }


def _path_ratios(main_path: PathFigures, latency: Latency) -> dict[str, float | None]:
    """The top-level ratios: the main store's, and the same with httpx-ws's end user."""
    httpx_ws = latency.user_client.get("httpx-ws")
    return {
        "ratio_user_to_agent": main_path.ratio_user_to_agent,
        "ratio_agent_to_user": main_path.ratio_agent_to_user,
        "ratio_agent_to_user_2_hops": main_path.ratio_agent_to_user_2_hops,
        "ratio_user_to_agent_same_client": main_path.ratio_user_to_agent_same_client,
        "ratio_agent_to_user_same_client": main_path.ratio_agent_to_user_same_client,
        "ratio_user_to_agent_httpx_ws": httpx_ws.ratio_user_to_agent if httpx_ws else None,
        "ratio_agent_to_user_httpx_ws": httpx_ws.ratio_agent_to_user if httpx_ws else None,
    }


def latency_result(sizes: Sizes, latency: Latency, load_average: list[float], started: float) -> BenchResult:
    """The bench's object with only the latency part filled in (the other figures None, nothing loaded)."""
    paths = latency.paths
    return BenchResult(
        **_path_ratios(paths["sqlite" if "sqlite" in paths else sizes.stores[0]], latency),
        messages_per_second=None,
        baseline_messages_per_second=latency.baseline["socket"].messages_per_second,
        messages_lost=0,
        messages_reordered=0,
        messages_duplicated=0,
        p99_agent_to_user_ms=None,
        memory_per_idle_conversation_kb=None,
        startup_seconds=None,
        replay_seconds=None,
        conversations=0,
        **_where(sizes, load_average),
        messages_each_way=0,
        baseline=latency.baseline,
        paths=paths,
        load={},
        memory_per_bare_socket_kb=None,
        memory_beyond_bare_socket_kb=None,
        idle_conversations=0,
        peak_memory_mb=round(measure.peak_memory_mb(), 1),
        baseline_startup_seconds=None,
        replay_passed=True,
        trace=latency.trace,
        user_client=latency.user_client,
        wall_seconds=round(time.perf_counter() - started, 1),
    )


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def plot(result: BenchResult) -> str:
    """Latency against concurrent conversations, from the load runs at each size."""
    series = []
    for store, runs in result.load.items():
        for direction, p50, p99 in (
            ("agent→user", "p50_agent_to_user_ms", "p99_agent_to_user_ms"),
            ("user→agent", "p50_user_to_agent_ms", "p99_user_to_agent_ms"),
        ):
            for label, key in (("p50", p50), ("p99", p99)):
                pts = [(float(r.conversations), getattr(r, key)) for r in runs if getattr(r, key)]
                series.append((f"{store} {direction} {label}", pts))
    title = f"Relay latency under load, flat out ({result.messages_each_way} messages each way), {result.cores} cores"
    return latency_svg(series, title)


def _quiet_logs() -> None:
    # The relay logs a line per event at INFO: at a thousand conversations that is the bench's output.
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("simulator", "uvicorn", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the whole bench; print the table (or, with --json, one JSON object)."""
    from simulator.logs import install_redaction

    install_redaction()
    _quiet_logs()
    sizes = Sizes(args)
    progress = Progress(sys.stderr)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    if getattr(args, "only", None) == "memory":
        memory = asyncio.run(run_memory(sizes, progress, say))
        print(memory.model_dump_json(indent=2) if args.json else memory_table(memory))
        return 0
    result = asyncio.run(run_bench(sizes, progress, say))
    if args.plot is not None:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        args.plot.write_text(plot(result))
        say(f"plot written to {args.plot}")
    print(result.model_dump_json(indent=2) if args.json else bench_table(result))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Run the load against a running simulator (default: the one `serve` would start here)."""
    from simulator.logs import install_redaction

    install_redaction()
    _quiet_logs()
    overrides: dict[str, Any] = {}
    settings = load_settings(overrides, config_file=args.config)
    target = (args.target or settings.public_base_url).rstrip("/")
    result = asyncio.run(
        run_load(
            target,
            settings,
            conversations=args.conversations,
            messages=args.messages,
            ramp=args.ramp,
            think=args.think,
            closed=args.closed,
            progress=Progress(sys.stderr),
        )
    )
    print(result.model_dump_json(indent=2) if args.json else load_table(result))
    return 0 if result.messages_lost == result.messages_reordered == result.messages_duplicated == 0 else 1
