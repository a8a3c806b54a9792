"""Recording a live session (or a JSON Lines trace) to `recordings/NAME.json`.

```python
recorder = Recorder(sim.trace, "my_flow")      # refuses an existing file unless force=True
recorder.start()                                 # every conversation from now on, whoever drives it
...
path = recorder.stop()                           # recordings/my_flow.json
```
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from simulator.clock import Clock
from simulator.config import Settings
from simulator.logs import redactor
from simulator.recordings.convert import FaultNote, agent_file_for, behaviour_settings, to_recording
from simulator.recordings.model import dump
from simulator.trace import Trace, TraceEntry
from simulator.zendesk.faults import FaultBook

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class RecordingError(Exception):
    """A recording cannot be made or written; the message says why, in one line."""


def recording_path(name: str, folder: Path) -> Path:
    """`folder/NAME.json`, after checking NAME is a plain file name."""
    stem = name.removesuffix(".json")
    if not NAME.match(stem):
        raise RecordingError(f"recording name {name!r}: use letters, digits, '.', '_' and '-' only")
    return folder / f"{stem}.json"


class Recorder:
    """Records every conversation that crosses `trace` between `start()` and `stop()`.

    `settings` (optional) keeps the flow-shaping settings and agent file the server ran with, and
    `faults` the faults injected on the Zendesk side, so the replay meets the same conditions.
    """

    def __init__(
        self,
        trace: Trace,
        name: str,
        folder: Path = Path("recordings"),
        force: bool = False,
        *,
        settings: Settings | None = None,
        faults: FaultBook | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.trace = trace
        self.name = name.removesuffix(".json")
        self.folder = folder
        self.force = force
        self.path = recording_path(name, folder)
        self.settings = settings
        self.faults = faults
        self.clock = clock or trace.clock
        self.entries: list[TraceEntry] = []
        self.fault_notes: list[FaultNote] = []
        self._stops: list[Callable[[], None]] = []

    @property
    def recording(self) -> bool:
        return bool(self._stops)

    def start(self) -> None:
        """Begin recording. Raises RecordingError if the file exists (without force) or the trace is off."""
        if self.recording:
            return
        if not self.trace.enabled:
            raise RecordingError("cannot record: the trace is off (SIM_TRACE_SIZE=0)")
        self._refuse_overwrite()
        self.entries.clear()
        self.fault_notes.clear()
        self._stops.append(self.trace.listen(self.entries.append))
        if self.faults is not None:
            self._stops.append(self.faults.listen(self._fault))

    def _fault(self, spec: dict[str, Any] | Literal["clear"]) -> None:
        if spec == "clear" and not any(note.spec != "clear" for note in self.fault_notes):
            return  # a reset with nothing injected: not a step
        self.fault_notes.append(FaultNote(self.trace.last, self.clock.monotonic(), spec))

    def stop(self) -> Path:
        """Stop recording and write the recording; returns its path.

        Raises RecordingError when nothing was recorded (no end user conversation) or the file
        cannot be written; the entries are kept, so `stop()` can be retried (e.g. with force).
        """
        for stop in self._stops:
            stop()
        self._stops.clear()
        settings = behaviour_settings(self.settings) if self.settings is not None else None
        agent_file = agent_file_for(self.settings, self.folder) if self.settings is not None else None
        return write_recording(
            self.entries,
            self.path,
            name=self.name,
            force=self.force,
            faults=self.fault_notes,
            settings=settings,
            agent_file=agent_file,
            recorded_from="live",
            end_t=self.clock.monotonic(),
        )

    def _refuse_overwrite(self) -> None:
        if self.path.exists() and not self.force:
            raise RecordingError(f"{self.path} exists; use --force to overwrite it")


def write_recording(
    entries: Sequence[TraceEntry],
    path: Path,
    *,
    name: str,
    force: bool = False,
    faults: Sequence[FaultNote] = (),
    settings: dict[str, Any] | None = None,
    agent_file: str | None = None,
    recorded_from: Literal["live", "trace"] = "live",
    end_t: float | None = None,
) -> Path:
    """Convert entries to a recording and write it to `path` (never over an existing file unless `force`)."""
    try:
        data = to_recording(
            entries,
            name=name,
            faults=faults,
            settings=settings,
            agent_file=agent_file,
            recorded_from=recorded_from,
            end_t=end_t,
        )
    except ValueError as exc:
        raise RecordingError(f"{path}: {exc}") from None
    # The trace is redacted already; scrub again with every secret this process knows, to be sure.
    text = redactor(dump(data))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
        with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise RecordingError(f"{path} exists; use --force to overwrite it") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot write: {exc.strerror}") from None
    return path


def read_trace_file(path: Path) -> list[TraceEntry]:
    """The entries of a JSON Lines trace (`serve --trace FILE`); RecordingError names a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
    entries: list[TraceEntry] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(TraceEntry.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            reason = str(exc).splitlines()[0]
            raise RecordingError(f"{path}:{number}: not a trace entry: {reason}") from None
    if not entries:
        raise RecordingError(f"{path}: the trace is empty")
    # A file appended to by several server runs restarts `seq` at 1 each run: file order is the order.
    return [entry.model_copy(update={"seq": index}) for index, entry in enumerate(entries, 1)]


def record_from_trace(trace_file: Path, name: str | None, folder: Path, force: bool) -> Path:
    """`python -m simulator record --from-trace FILE [NAME]`: a recording of every conversation in the file."""
    name = name or trace_file.stem
    path = recording_path(name, folder)
    if path.exists() and not force:
        raise RecordingError(f"{path} exists; use --force to overwrite it")
    entries = read_trace_file(trace_file)
    return write_recording(entries, path, name=path.stem, force=force, recorded_from="trace")
