"""Recordings: a live session (or a JSON Lines trace) kept as a scenario file plus the relay's exchanges."""

from simulator.recordings.model import RECORDING_VERSION
from simulator.recordings.recorder import Recorder, RecordingError, record_from_trace

__all__ = ["RECORDING_VERSION", "Recorder", "RecordingError", "record_from_trace"]
