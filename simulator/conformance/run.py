"""Run a conformance check and print its report."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from simulator.config import Settings, load_settings
from simulator.conformance.checker import SpecChecker
from simulator.conformance.plan import Plan, Target
from simulator.conformance.webhooks import WebhookSink, check_deliveries


def load_spec(path: Path) -> dict[str, Any]:
    """The OpenAPI document (YAML or JSON)."""
    text = path.read_text()
    spec: dict[str, Any] = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return spec


@contextlib.asynccontextmanager
async def live_target(url: str | None, settings: Settings | None) -> AsyncIterator[Target]:
    """The emulator at `url` (credentials from settings), or a fresh one of our own on a free port."""
    if url is not None:
        assert settings is not None
        yield Target(
            url.rstrip("/"),
            settings.zendesk_app_id,
            settings.zendesk_key_id,
            settings.zendesk_key_secret.get_secret_value(),
        )
        return
    from simulator.app import SimulatorApp
    from simulator.server import running_server

    with tempfile.TemporaryDirectory(prefix="sim-conformance-") as state:
        own = load_settings({"sim_state_dir": state}, environ={}, persist_generated=False)
        async with running_server(SimulatorApp, own) as sim:
            s = sim.settings
            yield Target(s.sunco_url, s.zendesk_app_id, s.zendesk_key_id, s.zendesk_key_secret.get_secret_value())


async def run(spec_path: Path, url: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Every operation, valid then invalid calls; returns the checker's summary."""
    spec = load_spec(spec_path)
    checker = SpecChecker(spec)
    sink = WebhookSink()
    async with (
        live_target(url, settings) as target,
        sink.running(),
        httpx.AsyncClient(timeout=30) as client,
    ):
        plan = Plan(client, checker, target, sink.url)
        await plan.run_valid()
        await plan.run_invalid()
        await plan.run_mutations()
        await plan.teardown()
        for path, method in (("/v2/apps/{app}/nothing", "GET"), ("/v2/apps/{app}/users", "PUT")):
            response = await client.request(method, target.base_url + path.format(**plan.ids), auth=plan.basic)
            if response.status_code not in (404, 405) or "errors" not in response.text:
                checker.outcomes[-1].problems.append(f"{method} {path}: {response.status_code} {response.text[:80]}")
        await sink.settle()
    summary = checker.summary()
    summary["webhooks"] = check_deliveries(spec, sink.bodies)
    return summary


def report(summary: dict[str, Any], verbose: bool = False) -> str:
    """A plain-text report: totals, then one line per operation with a problem (all with `verbose`)."""
    lines = [
        f"operations in spec:      {summary['operations']}",
        f"operations implemented:  {summary['implemented']}  (a valid request succeeded)",
        f"operations conformant:   {summary['conformant']}  (every call as expected, every body valid)",
        f"calls made:              {summary['calls']}",
        f"server errors (5xx):     {summary['server_errors']}",
        f"schema violations:       {summary['schema_violations']}",
    ]
    hooks = summary.get("webhooks")
    if hooks is not None:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(hooks["events"].items()))
        lines.append(f"webhook deliveries:      {hooks['deliveries']}  ({kinds or 'none'})")
        lines.append(f"webhook violations:      {len(hooks['problems'])}")
        lines += [f"    {p}" for p in hooks["problems"][:50]]
    if summary["unexercised"]:
        lines.append("not exercised: " + ", ".join(summary["unexercised"]))
    for op, entry in summary["per_operation"].items():
        if entry["problems"] or verbose:
            state = "ok" if not entry["problems"] else "PROBLEMS"
            lines.append(f"{op}: {entry['calls']} calls, {state}")
            lines += [f"    {p}" for p in entry["problems"]]
            if verbose:
                lines += [f"    note: {n}" for n in entry["notes"]]
    return "\n".join(lines)
