"""Recordings: a live session (or a JSON Lines trace) kept as a scenario file plus the relay's exchanges.

The names below load on first use: `serve` imports `simulator.recordings.cli` for its flags, and
must not pay for the recording models (and jsonschema) unless it records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.recordings.model import RECORDING_VERSION
    from simulator.recordings.recorder import Recorder, RecordingError, record_from_trace

__all__ = ["RECORDING_VERSION", "Recorder", "RecordingError", "record_from_trace"]


def __getattr__(name: str) -> Any:
    if name == "RECORDING_VERSION":
        from simulator.recordings import model

        return model.RECORDING_VERSION
    if name in ("Recorder", "RecordingError", "record_from_trace"):
        from simulator.recordings import recorder

        return getattr(recorder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
