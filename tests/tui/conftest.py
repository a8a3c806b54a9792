"""Fixtures for the app's tests (helpers in `helpers.py`)."""

from __future__ import annotations

import pytest

from .helpers import fix_ids


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids that would be random (sessions, SunCo records) counted instead, so snapshots repeat."""
    fix_ids(monkeypatch)
