"""`python -m simulator`: serve the simulator, and (as their issues land) the TUI, replay, record, bench."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator import __version__
from simulator.admin import admin_values, render
from simulator.config import ConfigError, Settings, load_settings
from simulator.logs import configure_logging
from simulator.recordings.cli import add_record_command, add_serve_flags, finish_recording, start_recording

EXIT_USAGE = 2


def _admin_banner(settings: Settings, *, reveal: bool) -> str:
    """The values an admin copies between Zendesk Admin Center and Agent Studio, shown once.

    Secrets are shown only on a terminal: redirected stdout ends up in CI and container logs.
    """
    lines = [f"Zendesk handoff simulator {__version__}", *render(admin_values(settings), reveal=reveal)]
    if reveal:
        lines.append("These values are shown once; they are kept in the state folder and never logged.")
    else:
        lines.append("Secrets are masked because stdout is not a terminal; `python -m simulator secrets` shows them.")
    return "\n".join(lines)


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "host", None) is not None:
        overrides["sim_host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["sim_port"] = args.port
    if getattr(args, "agent", None) is not None:
        overrides["polyai_agent_file"] = args.agent
    if getattr(args, "ephemeral", False):
        overrides.update(sim_ephemeral=True, relay_store="memory")
    if getattr(args, "trace", None) is not None:
        overrides["sim_trace_file"] = args.trace
    return load_settings(overrides, config_file=getattr(args, "config", None))


def _startup_over() -> None:
    """Turn the garbage collector back on if `python -m simulator` turned it off for start-up.

    What start-up made lives as long as the process, so it is frozen out of later collections.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the whole simulator headless until Ctrl-C or SIGTERM."""
    from simulator.app import SimulatorApp
    from simulator.server import bind_socket, serve_forever

    settings = _settings_from(args)
    sock = bind_socket(settings.sim_host, settings.sim_port)
    settings = settings.model_copy(update={"sim_port": sock.getsockname()[1]})
    configure_logging(args.log_level.upper())
    sim = SimulatorApp(settings)
    recorder = start_recording(sim, args)
    _startup_over()
    print(_admin_banner(settings, reveal=sys.stdout.isatty()), flush=True)
    try:
        asyncio.run(serve_forever(sim, sock, log_level=args.log_level))
    except KeyboardInterrupt:
        pass
    print("Simulator stopped.", flush=True)
    return finish_recording(recorder)


def cmd_tui(args: argparse.Namespace) -> int:
    """Open the app: the end user and the Zendesk agent side by side, on the same server `serve` runs."""
    from simulator.tui.run import run_tui

    return run_tui(_settings_from(args), log_level=args.log_level, record=args.record, force=args.force)


def cmd_secrets(args: argparse.Namespace) -> int:
    """Print the Admin Center values with their secrets (what the banner masks off a terminal)."""
    settings = _settings_from(args)
    print("\n".join(render(admin_values(settings), reveal=True)).lstrip("\n"), flush=True)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Run scenario files; exit 1 if any fails."""
    from simulator.logs import install_redaction
    from simulator.scenarios.replay import run_replay

    install_redaction()
    logging.getLogger().setLevel(logging.WARNING)
    return run_replay(args.paths, "socket" if args.socket else "asgi", args.junit, args.write_actual, args.loose)


def cmd_conformance(args: argparse.Namespace) -> int:
    """Check the SunCo emulator against the official OpenAPI spec; exit 1 on server errors or violations."""
    from simulator.conformance.run import report, run

    logging.getLogger().setLevel(logging.WARNING)
    # The run's own emulator warns about the deliveries it abandons at shutdown: expected, not news.
    logging.getLogger("simulator.zendesk").setLevel(logging.ERROR)
    if not args.spec.is_file():
        print(f"error: --spec: no such file {args.spec}", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings_from(args) if args.url else None
    summary = asyncio.run(run(args.spec, args.url, settings))
    print(report(summary, verbose=args.verbose))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    failed = (
        summary["server_errors"]
        or summary["schema_violations"]
        or summary["conformant"] < summary["operations"]
        or summary["webhooks"]["problems"]
    )
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Local simulator of a bot-to-Zendesk-agent chat handoff.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, help="settings file (default ./simulator.toml if present)")
        p.add_argument("--agent", type=Path, help="agent definition file (Python) to load instead of the demo")

    def server(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="interface to listen on (SIM_HOST, default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to listen on, 0 for any free port (SIM_PORT, default 8080)")
        p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
        p.add_argument(
            "--trace", type=Path, metavar="FILE", help="append every trace entry to FILE as JSON Lines (SIM_TRACE_FILE)"
        )
        p.add_argument(
            "--ephemeral", action="store_true", help="keep conversations in memory only (gone when it stops)"
        )
        add_serve_flags(p)
        common(p)

    serve = sub.add_parser("serve", help="run the simulator headless (HTTP + WebSocket server)")
    server(serve)
    serve.set_defaults(run=cmd_serve)
    add_record_command(sub)

    tui = sub.add_parser("tui", help="play the end user and the Zendesk agent side by side (the default in a terminal)")
    server(tui)
    tui.set_defaults(run=cmd_tui)

    secrets = sub.add_parser("secrets", help="print the Admin Center values, secrets included")
    secrets.add_argument("--host", help="interface the simulator listens on (SIM_HOST)")
    secrets.add_argument("--port", type=int, help="port the simulator listens on (SIM_PORT)")
    common(secrets)
    secrets.set_defaults(run=cmd_secrets)

    from simulator.sms_command import add_sms_command

    add_sms_command(sub, common)

    from simulator.bench.commands import add_commands as add_bench_commands

    add_bench_commands(sub, common)

    replay = sub.add_parser("replay", help="run scenario files as tests, on virtual time")
    replay.add_argument("paths", nargs="*", type=Path, help="scenario files or folders (default scenarios/)")
    replay.add_argument("--socket", action="store_true", help="run over a real loopback socket, not in-process")
    replay.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    replay.add_argument("--write-actual", type=Path, metavar="DIR", help="write each failed run as a scenario here")
    replay.add_argument("--loose", action="store_true", help="recordings: check the scenario part only")
    replay.set_defaults(run=cmd_replay)

    conformance = sub.add_parser("conformance", help="check the SunCo emulator against the official OpenAPI spec")
    conformance.add_argument("--spec", type=Path, required=True, help="the SunCo OpenAPI spec (YAML or JSON)")
    conformance.add_argument("--url", help="a running emulator's SunCo base (…/sc); default: start our own")
    conformance.add_argument("--config", type=Path, help="settings file with that emulator's app id and key")
    conformance.add_argument("--json", type=Path, help="write the full summary as JSON here")
    conformance.add_argument("--verbose", action="store_true", help="list every operation, not only failures")
    conformance.set_defaults(run=cmd_conformance)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or (words[0].startswith("-") and words[0] not in ("-h", "--help", "--version")):
        # No command: the app in a terminal, else the headless server; the flags are the same.
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if not interactive:
            print("Not a terminal (stdin or stdout redirected): running headless, as `serve`.", flush=True)
        words = ["tui" if interactive else "serve", *words]
    args = parser.parse_args(words)
    if args.run is not cmd_serve:  # serve turns it on once its app is built
        _startup_over()
    try:
        result: int = args.run(args)
        return result
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`... secrets | head`): not an error of ours. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
