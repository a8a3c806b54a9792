"""A SQLite WAL checkpointer on a thread of its own: the relay's store and the emulators' state file
append their commits to the WAL on the event loop, and this copies the WAL back into the file (and
fsyncs it) every `every` commits, so no request waits for the disk."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class Checkpointer:
    """Call `committed()` after each commit and `stop()` before closing (it checkpoints what is left)."""

    def __init__(self, path: Path, name: str, every: int = 500) -> None:
        self._path = path
        self._name = name
        self._every = every
        self._commits = 0
        self._due = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None  # started when the first checkpoint is due

    def committed(self) -> None:
        """One more commit; every `every` commits, a checkpoint is due."""
        self._commits += 1
        if self._commits % self._every == 0:
            self._start()
            self._due.set()

    def stop(self) -> None:
        """Checkpoint what is left and end the thread (blocks until then: call it off the loop where
        that matters; closing the last connection checkpoints the rest anyway)."""
        if self._thread is not None:
            self._stopping = True
            self._due.set()
            self._thread.join()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self._path), check_same_thread=False)
        try:
            while True:
                self._due.wait()
                self._due.clear()
                # PASSIVE: copies what no reader still needs, never blocks the writer on the loop.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if self._stopping:
                    return
        finally:
            conn.close()
