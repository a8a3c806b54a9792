"""`python -m simulator`: serve the simulator, and (as their issues land) the TUI, replay, record, bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simulator import __version__
from simulator.admin import admin_values, render
from simulator.config import ConfigError, Settings, load_settings
from simulator.logs import configure_logging

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
    return load_settings(overrides, config_file=getattr(args, "config", None))


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the whole simulator headless until Ctrl-C or SIGTERM."""
    from simulator.app import SimulatorApp
    from simulator.server import bind_socket, serve_forever

    settings = _settings_from(args)
    sock = bind_socket(settings.sim_host, settings.sim_port)
    settings = settings.model_copy(update={"sim_port": sock.getsockname()[1]})
    configure_logging(args.log_level.upper())
    sim = SimulatorApp(settings)
    print(_admin_banner(settings, reveal=sys.stdout.isatty()), flush=True)
    try:
        asyncio.run(serve_forever(sim, sock, log_level=args.log_level))
    except KeyboardInterrupt:
        pass
    print("Simulator stopped.", flush=True)
    return 0


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
    return run_replay(args.paths, "socket" if args.socket else "asgi", args.junit, args.write_actual)


def _not_yet(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"error: `{name}` is not available yet in this version; use `serve`.", file=sys.stderr)
        return 1

    return run


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

    serve = sub.add_parser("serve", help="run the simulator headless (HTTP + WebSocket server)")
    serve.add_argument("--host", help="interface to listen on (SIM_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on, 0 for any free port (SIM_PORT, default 8080)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--ephemeral", action="store_true", help="keep conversations in memory only (gone when it stops)"
    )
    common(serve)
    serve.set_defaults(run=cmd_serve)

    secrets = sub.add_parser("secrets", help="print the Admin Center values, secrets included")
    secrets.add_argument("--host", help="interface the simulator listens on (SIM_HOST)")
    secrets.add_argument("--port", type=int, help="port the simulator listens on (SIM_PORT)")
    common(secrets)
    secrets.set_defaults(run=cmd_secrets)

    for name, text in (
        ("tui", "play the end user and the Zendesk agent side by side (coming)"),
        ("record", "record a live session to recordings/ (coming)"),
        ("bench", "measure relay throughput and latency (coming)"),
    ):
        p = sub.add_parser(name, help=text)
        common(p)
        p.set_defaults(run=_not_yet(name))

    replay = sub.add_parser("replay", help="run scenario files as tests, on virtual time")
    replay.add_argument("paths", nargs="*", type=Path, help="scenario files or folders (default scenarios/)")
    replay.add_argument("--socket", action="store_true", help="run over a real loopback socket, not in-process")
    replay.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    replay.add_argument("--write-actual", type=Path, metavar="DIR", help="write each failed run as a scenario here")
    replay.set_defaults(run=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # Until the TUI lands, the default is the headless server.
        args = parser.parse_args(["serve", *(argv or sys.argv[1:])])
    try:
        result: int = args.run(args)
        return result
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
