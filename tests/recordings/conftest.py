"""Every recording a test here writes is searched for every secret of every simulator the test started."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.recordings import recorder
from simulator.scenarios.harness import Harness


@pytest.fixture(autouse=True)
def no_secret_in_any_recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    secrets: set[str] = set()
    written: list[Path] = []
    start, write = Harness._start, recorder.write_recording

    async def remember_secrets(self: Harness) -> None:
        await start(self)
        secrets.update(self.settings.secret_values() + self.sim.relay_settings.secret_values())

    def remember_path(*args: Any, **kwargs: Any) -> Path:
        path = write(*args, **kwargs)
        written.append(path)
        return path

    monkeypatch.setattr(Harness, "_start", remember_secrets)
    monkeypatch.setattr(recorder, "write_recording", remember_path)
    yield written
    for path in written:
        text = path.read_text(encoding="utf-8")
        leaked = sorted(s[:4] + "..." for s in secrets if s in text)
        assert not leaked, f"{path} holds secrets: {leaked}"
    if written:
        assert len(secrets) >= 6, "the check saw no secrets: it would pass whatever the recording holds"
