"""The garbage collector's settings for a long-running server.

At a thousand conversations the heap holds a few million tracked objects; CPython's defaults run a
full collection every time the old generation grows by a quarter, and each one walks the whole heap
with the event loop stopped (0.3-1 s measured there: every socket, timer and webhook waits). What
start-up built lives as long as the process, so it is frozen out of the collector's view, and the
young generation is collected less often, so far fewer objects that live on reach the old one.
Reference counting still frees everything that is not in a cycle at once; cycles are still
collected, only in fewer, larger passes.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# 700 / 10 / 10 by default: a young collection every 700 net allocations of container objects, and
# a full one every 10 middle ones (when the old generation also grew by 25 %). Here: a full
# collection at most every ~5 million net allocations, minutes apart even under a heavy load.
YOUNG_THRESHOLD = 10_000
MIDDLE_THRESHOLD = 10
OLD_THRESHOLD = 50


def tune_for_serving() -> None:
    """Collect what start-up left, freeze the survivors (modules, app, settings) out of every later
    collection, and space out collections. Call once, after the app is built and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


_spaced = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def spaced_collections() -> Iterator[None]:
    """Collect less often inside the block (as a server does), then put the previous thresholds back.

    A scenario run makes and drops a whole simulator: with the defaults the collector ran ~180 times
    over the scenario library, walking what each run left alive, for a tenth of the library's time.
    Nested or concurrent blocks share one setting; the last one out restores it.
    """
    global _spaced, _saved
    if _spaced == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    _spaced += 1
    try:
        yield
    finally:
        _spaced -= 1
        if _spaced == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
