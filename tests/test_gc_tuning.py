"""Spacing out collections for a block (a scenario replay) leaves the process's settings as they were."""

from __future__ import annotations

import gc

from simulator.gc_tuning import YOUNG_THRESHOLD, spaced_collections


def test_spaced_collections_restores_the_thresholds_after_nested_blocks() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with spaced_collections():
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
            with spaced_collections():
                assert gc.get_threshold()[0] == YOUNG_THRESHOLD
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the outer block is still running
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
