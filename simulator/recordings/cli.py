"""The recording commands: `serve --record NAME [--force]` and `record --from-trace FILE [NAME]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `serve` without --record never loads the recorder
    from simulator.app import SimulatorApp
    from simulator.recordings.recorder import Recorder

EXIT_USAGE = 2
FOLDER = Path("recordings")


def add_serve_flags(serve: argparse.ArgumentParser) -> None:
    """`serve --record NAME [--force]`."""
    serve.add_argument("--record", metavar="NAME", help="record every conversation to recordings/NAME.json")
    serve.add_argument("--force", action="store_true", help="with --record: overwrite an existing recording")


def add_record_command(sub: Any) -> None:
    """`record --from-trace FILE [NAME] [--force] [--folder DIR]`."""
    record = sub.add_parser("record", help="make a recording (a replayable scenario) from a JSON Lines trace")
    record.add_argument("name", nargs="?", help="recording name (default: the trace file's name)")
    record.add_argument("--from-trace", type=Path, metavar="FILE", help="a trace written by `serve --trace FILE`")
    record.add_argument("--folder", type=Path, default=FOLDER, help="where to write NAME.json (default recordings/)")
    record.add_argument("--force", action="store_true", help="overwrite an existing recording")
    record.set_defaults(run=cmd_record)


def cmd_record(args: argparse.Namespace) -> int:
    """Write recordings/NAME.json from a trace file; exit 1 if it cannot, 2 on bad usage."""
    if args.from_trace is None:
        print(
            "error: record needs --from-trace FILE; to record a live session use `serve --record NAME`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from simulator.recordings.recorder import RecordingError, record_from_trace

    try:
        path = record_from_trace(args.from_trace, args.name, args.folder, args.force)
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Recording written to {path} (replay it: python -m simulator replay {path})")
    return 0


def start_recording(sim: SimulatorApp, args: argparse.Namespace) -> Recorder | None:
    """For `serve --record NAME`: a started recorder, or None without the flag. Exits 2 if it cannot start."""
    if not getattr(args, "record", None):
        return None
    from simulator.recordings.recorder import Recorder, RecordingError

    try:
        recorder = Recorder(
            sim.trace, args.record, FOLDER, args.force, settings=sim.settings, faults=sim.zendesk.faults
        )
        recorder.start()
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    print(f"Recording every conversation to {recorder.path} until the server stops.", flush=True)
    return recorder


def finish_recording(recorder: Recorder | None) -> int:
    """Write the recording when the server has stopped; the exit code (1 if nothing could be written)."""
    if recorder is None:
        return 0
    from simulator.recordings.recorder import RecordingError

    try:
        path = recorder.stop()
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Recording written to {path} (replay it: python -m simulator replay {path})", flush=True)
    return 0
