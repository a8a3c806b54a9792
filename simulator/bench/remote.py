"""The bench's clients in a process of their own: the load generator against the simulator, and the
bare chain's senders against the bare chain, each served by the bench's process.

On one process the 1,000 users' sockets, the agents' client and the server would share one event
loop and one core; the server under test then pays for its clients. Both sides of the comparison
are measured the same way: clients in a child process, server in the bench's, side by side.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from simulator.bench import baseline as bare
from simulator.bench.load import LoadResult
from simulator.bench.serving import serve_app
from simulator.config import Settings


def _child_env(settings: Settings | None, state: str) -> dict[str, str]:
    env = dict(os.environ)
    # The child's own (throwaway) state folder and no settings file: it needs only the widget's
    # connector token and host, which the bench's simulator was built with.
    env.update(SIM_STATE_DIR=state, SIM_CONFIG=str(Path(state) / "none.toml"))
    if settings is not None:
        env.update(
            POLYAI_CONNECTOR_TOKEN=settings.polyai_connector_token.get_secret_value(),
            POLYAI_WIDGET_HOST=settings.polyai_widget_host,
        )
    return env


async def _child(args: list[str], settings: Settings | None) -> str:
    """Run `python -m <args>` to its end; its stderr (the progress bar) is ours; returns its stdout."""
    with tempfile.TemporaryDirectory(prefix="bench-client-") as state:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *args,
            stdout=asyncio.subprocess.PIPE,
            env=_child_env(settings, state),
        )
        out, _ = await process.communicate()
    text = out.decode()
    if not text.strip():
        raise RuntimeError(f"`python -m {' '.join(args)}` printed nothing (exit {process.returncode})")
    return text


async def load_in_child(
    base_url: str,
    settings: Settings,
    *,
    conversations: int,
    messages: int,
    ramp: float,
    think: float = 0.0,
    closed: bool = False,
) -> LoadResult:
    """`python -m simulator load --json` against the simulator at `base_url`, in a child process."""
    args = ["simulator", "load", "--json", "--target", base_url]
    args += ["--conversations", str(conversations), "--messages", str(messages), "--ramp", str(ramp)]
    args += ["--think", str(think)] + (["--closed"] if closed else [])
    return LoadResult.model_validate_json(await _child(args, settings))


async def chain_run_in_child(exchanges: tuple[int, ...], concurrency: int, total: int) -> bare.ChainRun:
    """Messages through a bare chain served here, its senders in a child process (as the load's are)."""
    chain = bare.HopChain()
    async with serve_app(chain.app) as url, bare.chain_http(url) as inner:
        chain.client = inner
        spec = ",".join(str(n) for n in exchanges)
        text = await _child(["simulator.bench.remote", url, spec, str(concurrency), str(total)], None)
    answer = json.loads(text)
    return bare.ChainRun(float(answer["messages_per_second"]), [float(ms) for ms in answer["latencies_ms"]])


async def _send_mix(url: str, exchanges: tuple[int, ...], concurrency: int, total: int) -> bare.ChainRun:
    async with bare.chain_http(url, concurrency) as client:
        await bare.latencies(client, 2, 3)  # connections warm, as the load's are after its handoffs
        return await bare.run_mix(client, exchanges, concurrency, total)


def main(argv: list[str]) -> int:
    """`python -m simulator.bench.remote URL EXCHANGES CONCURRENCY TOTAL`: the bare chain's senders."""
    url, spec, concurrency, total = argv
    exchanges = tuple(int(n) for n in spec.split(","))
    run = asyncio.run(_send_mix(url, exchanges, int(concurrency), int(total)))
    latencies = [round(ms, 3) for ms in run.latencies_ms]
    print(json.dumps({"messages_per_second": run.messages_per_second, "latencies_ms": latencies}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
