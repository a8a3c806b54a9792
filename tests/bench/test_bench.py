"""`python -m simulator bench --quick` runs end to end and prints the JSON other tools read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.bench.load import _order_figures

TOP_LEVEL = {
    "ratio_user_to_agent": float,
    "ratio_agent_to_user": float,
    "messages_per_second": float,
    "baseline_messages_per_second": float,
    "messages_lost": int,
    "messages_reordered": int,
    "messages_duplicated": int,
    "p99_agent_to_user_ms": float,
    "memory_per_idle_conversation_kb": float,
    "startup_seconds": float,
    "replay_seconds": float,
    "conversations": int,
    "cores": int,
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    out = tmp_path_factory.mktemp("bench")
    plot = out / "latency.svg"
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "bench", "--quick", "--json", "--plot", str(plot)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=out,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), plot


def test_quick_bench_prints_every_figure_other_tools_read(quick: tuple[dict[str, object], Path]) -> None:
    result, _ = quick
    for key, kind in TOP_LEVEL.items():
        assert isinstance(result.get(key), kind), f"{key}: {result.get(key)!r}"
    assert result["quick"] is True
    assert result["cores"] >= 1  # type: ignore[operator]
    assert result["replay_passed"] is True


def test_quick_bench_compares_each_path_with_a_chain_of_as_many_exchanges(
    quick: tuple[dict[str, object], Path],
) -> None:
    result, _ = quick
    chain = result["baseline"]["socket"]  # type: ignore[index]
    path = result["paths"]["sqlite"]  # type: ignore[index]
    # User->agent: the relay's POST. Agent->user: the agent's POST, the webhook, the read-back GET.
    # (The ratios are of the unrounded medians.)
    assert path["ratio_user_to_agent"] == pytest.approx(path["p50_user_to_agent_ms"] / chain["p50_1_hop_ms"], abs=0.02)
    assert path["ratio_agent_to_user"] == pytest.approx(path["p50_agent_to_user_ms"] / chain["p50_3_hops_ms"], abs=0.02)
    assert path["ratio_agent_to_user_2_hops"] == pytest.approx(
        path["p50_agent_to_user_ms"] / chain["p50_2_hops_ms"], abs=0.02
    )
    assert result["ratio_agent_to_user"] == path["ratio_agent_to_user"]
    assert result["ratio_agent_to_user_2_hops"] == path["ratio_agent_to_user_2_hops"]
    # One round in --quick: its own ratios are the pooled ones.
    assert path["ratio_user_to_agent_by_round"] == [path["ratio_user_to_agent"]]
    assert path["ratio_agent_to_user_by_round"] == [path["ratio_agent_to_user"]]


def test_quick_bench_measures_the_chain_with_as_many_senders_as_conversations(
    quick: tuple[dict[str, object], Path],
) -> None:
    result, _ = quick
    chain = result["baseline"]["socket"]  # type: ignore[index]
    # The concurrency the relay's flat-out p99 is measured at, for the chain: its p99 there.
    assert chain["senders_under_load"] == result["conversations"]
    assert 0 < chain["p50_under_load_ms"] <= chain["p99_under_load_ms"]
    assert result["baseline_p99_under_load_ms"] == chain["p99_under_load_ms"]


def test_quick_bench_runs_a_closed_load_beside_the_chain_at_its_concurrency(
    quick: tuple[dict[str, object], Path],
) -> None:
    result, _ = quick
    closed = result["closed"]  # type: ignore[index]
    # Each conversation's next exchange waited for the agent's last message: all of them arrived.
    assert closed["closed"] is True and closed["conversations"] == result["conversations"]
    assert closed["messages_delivered"] == closed["messages_sent"] > 0
    assert closed["messages_lost"] == closed["messages_reordered"] == closed["messages_duplicated"] == 0
    assert result["p99_agent_to_user_closed_ms"] == closed["p99_agent_to_user_ms"] > 0


def test_quick_bench_measures_the_paths_with_each_end_user_client(quick: tuple[dict[str, object], Path]) -> None:
    result, _ = quick
    clients = result["user_client"]  # type: ignore[index]
    # The headline is the `websockets` end user's; httpx-ws's (the series before 28 November 2026) beside it.
    assert clients["websockets"] == result["paths"]["sqlite"]  # type: ignore[index]
    httpx_ws = clients["httpx-ws"]
    assert httpx_ws["p50_user_to_agent_ms"] > 0 and httpx_ws["p50_agent_to_user_ms"] > 0
    assert result["ratio_user_to_agent_httpx_ws"] == httpx_ws["ratio_user_to_agent"]
    assert result["ratio_agent_to_user_httpx_ws"] == httpx_ws["ratio_agent_to_user"]


def test_quick_bench_relays_every_message_once_in_order(quick: tuple[dict[str, object], Path]) -> None:
    result, _ = quick
    assert (result["messages_lost"], result["messages_reordered"], result["messages_duplicated"]) == (0, 0, 0)
    loads = result["load"]
    assert isinstance(loads, dict) and set(loads) == {"sqlite", "memory"}
    for runs in loads.values():
        for run in runs:
            assert run["handoffs_completed"] == run["conversations"] == result["conversations"]
            assert run["messages_delivered"] == run["messages_sent"] > 0
            assert run["errors"] == []
    paced = result["paced"]
    assert isinstance(paced, dict) and paced["think_seconds"] > 0 and paced["errors"] == []
    assert paced["messages_delivered"] == paced["messages_sent"] > 0
    assert result["p99_agent_to_user_paced_ms"] == paced["p99_agent_to_user_ms"]


def test_quick_bench_draws_the_latency_plot(quick: tuple[dict[str, object], Path]) -> None:
    _, plot = quick
    svg = plot.read_text()
    assert svg.startswith("<svg") and "concurrent conversations" in svg and "<polyline" in svg


def test_order_figures_count_lost_reordered_and_duplicated() -> None:
    expected = ["a", "b", "c", "d"]
    assert _order_figures(expected, ["a", "b", "c", "d"]) == (0, 0, 0)
    assert _order_figures(expected, ["a", "c", "b", "b"]) == (1, 1, 1)
