"""The bench's JSON object (top-level keys other tools read) and its table."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from simulator.bench.load import LoadResult


class HopFigures(BaseModel):
    """The bare chain over one transport."""

    p50_1_hop_ms: float | None
    p99_1_hop_ms: float | None
    p50_2_hops_ms: float | None
    p99_2_hops_ms: float | None
    p50_3_hops_ms: float | None = None
    p99_3_hops_ms: float | None = None
    messages_per_second: float | None
    server_cpu_ms_per_message: float | None = None  # the chain's process, senders apart (see LoadResult)
    # With as many senders as the load's conversations, each as fast as answered (the load part only).
    senders_under_load: int | None = None
    p50_under_load_ms: float | None = None
    p99_under_load_ms: float | None = None


class PathFigures(BaseModel):
    """The relay's two paths, one message at a time, over sockets, for one store."""

    p50_user_to_agent_ms: float | None
    p99_user_to_agent_ms: float | None
    p50_agent_to_user_ms: float | None
    p99_agent_to_user_ms: float | None
    ratio_user_to_agent: float | None
    ratio_agent_to_user: float | None  # over 3 hops: the agent's post, the webhook, the read-back GET
    ratio_agent_to_user_2_hops: float | None = None  # the read-back GET not counted (before 28 Nov 2026)
    # Against a chain whose exchanges use the relay's own client (aiohttp) instead of httpx.
    ratio_user_to_agent_same_client: float | None = None
    ratio_agent_to_user_same_client: float | None = None
    # Each round's ratios (a fresh simulator against that round's chain), in order: their spread.
    ratio_user_to_agent_by_round: list[float | None] = Field(default_factory=list)
    ratio_agent_to_user_by_round: list[float | None] = Field(default_factory=list)


class BenchResult(BaseModel):
    """Everything `python -m simulator bench --json` prints. The first block is read by other tools:
    keep those names."""

    ratio_user_to_agent: float | None
    ratio_agent_to_user: float | None
    messages_per_second: float | None
    baseline_messages_per_second: float | None
    messages_lost: int
    messages_reordered: int
    messages_duplicated: int
    p99_agent_to_user_ms: float | None
    memory_per_idle_conversation_kb: float | None
    startup_seconds: float | None
    replay_seconds: float | None
    conversations: int
    cores: int
    ratio_user_to_agent_same_client: float | None = None
    ratio_agent_to_user_same_client: float | None = None
    ratio_agent_to_user_2_hops: float | None = None
    # The paths measured with httpx-ws's end user (the bench's until 28 November 2026) instead of
    # `websockets`: the same series as before (docs/performance.md, "The measuring end user's client").
    ratio_user_to_agent_httpx_ws: float | None = None
    ratio_agent_to_user_httpx_ws: float | None = None
    # The bare chain's p99 with as many senders as conversations, flat out: the same concurrency.
    baseline_p99_under_load_ms: float | None = None
    # The same conversations, paced (users think before each message): latency without a backlog.
    p99_agent_to_user_paced_ms: float | None = None
    # The same conversations, closed: each exchange once the user has the agent's last message, as
    # the bare chain's senders each keep one request in flight (`baseline_p99_under_load_ms`).
    p99_agent_to_user_closed_ms: float | None = None

    date: str
    machine: str
    python: str
    quick: bool
    load_average: list[float]
    messages_each_way: int
    baseline: dict[str, HopFigures]
    paths: dict[str, PathFigures]
    load: dict[str, list[LoadResult]]
    paced: LoadResult | None = None
    closed: LoadResult | None = None
    memory_per_bare_socket_kb: float | None
    memory_beyond_bare_socket_kb: float | None
    idle_conversations: int
    peak_memory_mb: float
    baseline_startup_seconds: float | None
    replay_passed: bool
    replay_socket_seconds: float | None = None
    trace: dict[str, PathFigures] = Field(default_factory=dict)  # "on" (default size) / "off" (SIM_TRACE_SIZE=0)
    # The sqlite paths with the measuring end user on each WebSocket client: "websockets" (the
    # headline's) / "httpx-ws".
    user_client: dict[str, PathFigures] = Field(default_factory=dict)
    wall_seconds: float = 0.0


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    else:
        text = f"{value:,}"
    return f"{text}{unit}"


def load_table(result: LoadResult) -> str:
    """The figures of one load run, as a small table."""
    rows = [
        ("conversations x messages each way", f"{result.conversations} x {result.messages_each_way}"),
        ("think time before each user message", _fmt(result.think_seconds, " s") if result.think_seconds else "none"),
        (
            "next exchange",
            "once the user has the agent's last message" if result.closed else "as soon as the last is answered",
        ),
        (
            "handoffs completed",
            f"{result.handoffs_completed} (all within {_fmt(result.handoffs_all_done_seconds, ' s')})",
        ),
        ("handoff p50 / p99", f"{_fmt(result.handoff_p50_ms, ' ms')} / {_fmt(result.handoff_p99_ms, ' ms')}"),
        ("messages delivered / sent", f"{result.messages_delivered} / {result.messages_sent}"),
        (
            "lost / reordered / duplicated",
            f"{result.messages_lost} / {result.messages_reordered} / {result.messages_duplicated}",
        ),
        ("relayed messages/s" + (" (offered)" if result.think_seconds else ""), _fmt(result.messages_per_second)),
        (
            "user->agent p50 / p99",
            f"{_fmt(result.p50_user_to_agent_ms, ' ms')} / {_fmt(result.p99_user_to_agent_ms, ' ms')}",
        ),
        (
            "agent->user p50 / p99",
            f"{_fmt(result.p50_agent_to_user_ms, ' ms')} / {_fmt(result.p99_agent_to_user_ms, ' ms')}",
        ),
        ("wall time", _fmt(result.wall_seconds, " s")),
    ]
    lines = _rows(rows)
    lines += [f"error: {e}" for e in result.errors]
    return "\n".join(lines)


def _rows(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {value}" for name, value in rows]


def bench_table(result: BenchResult) -> str:
    """The whole bench as a Markdown table (also what docs/performance.md shows)."""
    sock = result.baseline.get("socket")
    asgi = result.baseline.get("asgi")
    lines = [
        f"{result.date} · {result.machine} · {result.cores} cores · Python {result.python} · "
        f"load average at start {' '.join(f'{v:.2f}' for v in result.load_average)}"
        + (" · QUICK (reduced size)" if result.quick else ""),
        "",
        "| figure | relay | baseline | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]

    def row(figure: str, relay: str, base: str = "", ratio: str = "", target: str = "") -> None:
        lines.append(f"| {figure} | {relay} | {base} | {ratio} | {target} |")

    if asgi:
        row(
            "bare chain in-process (httpx→ASGI) p50 1 / 2 / 3 hops",
            f"{_fmt(asgi.p50_1_hop_ms, ' ms')} / {_fmt(asgi.p50_2_hops_ms, ' ms')} / {_fmt(asgi.p50_3_hops_ms, ' ms')}",
            "",
            "",
            "",
        )
    for store, path in result.paths.items():
        base1 = sock.p50_1_hop_ms if sock else None
        base2 = sock.p50_2_hops_ms if sock else None
        base3 = sock.p50_3_hops_ms if sock else None
        row(
            f"user→agent p50 (p99), sockets, {store}",
            f"{_fmt(path.p50_user_to_agent_ms, ' ms')} ({_fmt(path.p99_user_to_agent_ms, ' ms')})",
            f"{_fmt(base1, ' ms')} (1 hop)",
            _fmt(path.ratio_user_to_agent, "×") + _spread(path.ratio_user_to_agent_by_round),
            "≤ 1.5× (sqlite)",
        )
        row(
            f"agent→user p50 (p99), sockets, {store}",
            f"{_fmt(path.p50_agent_to_user_ms, ' ms')} ({_fmt(path.p99_agent_to_user_ms, ' ms')})",
            f"{_fmt(base3, ' ms')} (3 hops)",
            _fmt(path.ratio_agent_to_user, "×") + _spread(path.ratio_agent_to_user_by_round),
            "≤ 1.5× (sqlite)",
        )
        row(
            f"agent→user, {store}, the read-back GET not counted",
            "",
            f"{_fmt(base2, ' ms')} (2 hops)",
            _fmt(path.ratio_agent_to_user_2_hops, "×"),
        )
    same = result.baseline.get("socket-outbound")
    for store, path in result.paths.items():
        if same and path.ratio_user_to_agent_same_client is not None:
            row(
                f"{store}, against a chain sending with the relay's client (aiohttp): user→agent / agent→user",
                "",
                f"{_fmt(same.p50_1_hop_ms, ' ms')} / {_fmt(same.p50_3_hops_ms, ' ms')}",
                " / ".join(
                    _fmt(r, "×") for r in (path.ratio_user_to_agent_same_client, path.ratio_agent_to_user_same_client)
                ),
            )
    for label, path in result.trace.items():
        row(
            f"sqlite, trace {label}: user→agent / agent→user p50",
            f"{_fmt(path.p50_user_to_agent_ms, ' ms')} / {_fmt(path.p50_agent_to_user_ms, ' ms')}",
            "",
            f"{_fmt(path.ratio_user_to_agent, '×')} / {_fmt(path.ratio_agent_to_user, '×')}",
        )
    for client, path in result.user_client.items():
        row(
            f"sqlite, the end user on {client}: user→agent / agent→user p50",
            f"{_fmt(path.p50_user_to_agent_ms, ' ms')} / {_fmt(path.p50_agent_to_user_ms, ' ms')}",
            "",
            f"{_fmt(path.ratio_user_to_agent, '×')} / {_fmt(path.ratio_agent_to_user, '×')}",
        )
    for store, runs in result.load.items():
        for run in runs:
            mps = run.messages_per_second
            base_mps = result.baseline_messages_per_second
            ratio = f"{mps / base_mps:.2f}" if mps and base_mps else "-"
            row(
                f"load {store}, {run.conversations} conv × {run.messages_each_way}: messages/s",
                _fmt(mps),
                _fmt(base_mps),
                ratio,
                "≥ 0.8",
            )
            if run.server_cpu_ms_per_message is not None:
                base_cpu = sock.server_cpu_ms_per_message if sock else None
                row(
                    f"load {store}, {run.conversations} conv: server CPU per message (clients apart)",
                    _fmt(run.server_cpu_ms_per_message, " ms"),
                    _fmt(base_cpu, " ms"),
                    _fmt(_div(run.server_cpu_ms_per_message, base_cpu), "×"),
                )
            row(
                f"load {store}, {run.conversations} conv: handoffs done / all within",
                f"{run.handoffs_completed} / {_fmt(run.handoffs_all_done_seconds, ' s')}",
                "",
                "",
                "all, < 60 s",
            )
            row(
                f"load {store}, {run.conversations} conv: lost / reordered / duplicated",
                f"{run.messages_lost} / {run.messages_reordered} / {run.messages_duplicated}",
                "",
                "",
                "0 / 0 / 0",
            )
            row(
                f"load {store}, {run.conversations} conv: user→agent p50 / p99",
                f"{_fmt(run.p50_user_to_agent_ms, ' ms')} / {_fmt(run.p99_user_to_agent_ms, ' ms')}",
            )
            row(
                f"load {store}, {run.conversations} conv: agent→user p50 / p99" + _crowd_label(sock, run),
                f"{_fmt(run.p50_agent_to_user_ms, ' ms')} / {_fmt(run.p99_agent_to_user_ms, ' ms')}",
                *_beside_crowd(sock, run),
                "p99 < 1 s",
            )
    if (paced := result.paced) is not None:
        what = (
            f"load paced ({paced.think_seconds:g} s thinking), {paced.conversations} conv × {paced.messages_each_way}"
        )
        row(
            f"{what}: agent→user p50 / p99",
            f"{_fmt(paced.p50_agent_to_user_ms, ' ms')} / {_fmt(paced.p99_agent_to_user_ms, ' ms')}",
            "",
            "",
            "p99 < 1 s",
        )
        row(
            f"{what}: user→agent p50 / p99; lost / reordered / duplicated",
            f"{_fmt(paced.p50_user_to_agent_ms, ' ms')} / {_fmt(paced.p99_user_to_agent_ms, ' ms')}; "
            f"{paced.messages_lost} / {paced.messages_reordered} / {paced.messages_duplicated}",
        )
    if (closed := result.closed) is not None:
        what = f"load closed (one exchange in flight per conversation), {closed.conversations} conv"
        row(
            f"{what}: agent→user p50 / p99" + _crowd_label(sock, closed),
            f"{_fmt(closed.p50_agent_to_user_ms, ' ms')} / {_fmt(closed.p99_agent_to_user_ms, ' ms')}",
            *_beside_crowd(sock, closed),
        )
        row(
            f"{what}: messages/s; lost / reordered / duplicated",
            f"{_fmt(closed.messages_per_second)}; "
            f"{closed.messages_lost} / {closed.messages_reordered} / {closed.messages_duplicated}",
        )
    row(
        f"memory per idle handed-off conversation ({result.idle_conversations})",
        _fmt(result.memory_per_idle_conversation_kb, " KB"),
        f"{_fmt(result.memory_per_bare_socket_kb, ' KB')} bare socket",
        f"+{_fmt(result.memory_beyond_bare_socket_kb, ' KB')}",
        "< +40 KB",
    )
    row("peak memory of the bench process", _fmt(result.peak_memory_mb, " MB"))
    row(
        "scenario library, in-process" + ("" if result.replay_passed else " (FAILURES)"),
        _fmt(result.replay_seconds, " s"),
        "",
        "",
        "< 1 s",
    )
    if result.replay_socket_seconds is not None:
        row("scenario library, over sockets", _fmt(result.replay_socket_seconds, " s"))
    row(
        "start-up to /_sim/health",
        _fmt(result.startup_seconds, " s"),
        f"{_fmt(result.baseline_startup_seconds, ' s')} bare uvicorn",
        _fmt(_div(result.startup_seconds, result.baseline_startup_seconds), "×"),
        "< 0.5 s",
    )
    return "\n".join(lines)


def _spread(by_round: list[float | None]) -> str:
    """ " (rounds 1.52-1.80×)" when there were several rounds: how far one fresh simulator is from another."""
    known = [r for r in by_round if r is not None]
    if len(known) < 2:
        return ""
    return f" (rounds {min(known):.2f}-{max(known):.2f}×)"


def _crowd(sock: HopFigures | None, run: LoadResult) -> HopFigures | None:
    """The chain's figures if it was measured with as many senders as `run` has conversations."""
    return sock if sock and sock.senders_under_load == run.conversations else None


def _crowd_label(sock: HopFigures | None, run: LoadResult) -> str:
    return " (chain: as many senders, flat out)" if _crowd(sock, run) else ""


def _beside_crowd(sock: HopFigures | None, run: LoadResult) -> tuple[str, str]:
    """The baseline and ratio cells for a load's agent->user p50 / p99: the chain's at the same concurrency."""
    crowd = _crowd(sock, run)
    if crowd is None:
        return "", ""
    return (
        f"{_fmt(crowd.p50_under_load_ms, ' ms')} / {_fmt(crowd.p99_under_load_ms, ' ms')}",
        _fmt(_div(run.p99_agent_to_user_ms, crowd.p99_under_load_ms), "× (p99)"),
    )


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


class MemoryResult(BaseModel):
    """What `bench --only memory` prints: the memory part alone (same names as in BenchResult)."""

    idle_conversations: int
    handoffs_completed: int
    memory_per_idle_conversation_kb: float | None
    memory_per_bare_socket_kb: float | None
    memory_beyond_bare_socket_kb: float | None
    peak_memory_mb: float
    cores: int
    date: str
    wall_seconds: float


def memory_table(result: MemoryResult) -> str:
    """The memory part as a few lines."""
    return "\n".join(
        [
            f"idle handed-off conversations held       {result.handoffs_completed:,} of {result.idle_conversations:,}",
            f"memory per idle handed-off conversation  {_fmt(result.memory_per_idle_conversation_kb, ' KB')}",
            f"memory per bare WebSocket                {_fmt(result.memory_per_bare_socket_kb, ' KB')}",
            f"beyond the bare socket                   +{_fmt(result.memory_beyond_bare_socket_kb, ' KB')}",
            f"peak memory of the bench process         {_fmt(result.peak_memory_mb, ' MB')}",
            f"({result.cores} cores, {result.date}, {result.wall_seconds:.0f} s)",
        ]
    )
