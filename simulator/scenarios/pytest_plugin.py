"""pytest plugin: scenario files run as test items, and a fixture that starts the whole simulator.

Registered through the `pytest11` entry point, so installing the package is enough:

- every `*.json` in a folder named `scenarios/` or `recordings/` is collected as one test, named after the file;
- the `handoff_sim` fixture yields a started `Harness` (in-process, virtual time) with actors.
  Configure it per test with `@pytest.mark.handoff_sim(agent_file="agents/mine.py", settings={...})`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.scenarios.harness import Harness, handoff_simulator
from simulator.scenarios.loader import ScenarioFileError
from simulator.scenarios.runner import ScenarioFailed, run_file, write_actual


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("handoff-simulator")
    group.addoption(
        "--scenario-transport",
        choices=["asgi", "socket"],
        default="asgi",
        help="run scenario files in-process (asgi, fast) or over a real loopback socket",
    )
    group.addoption("--write-actual", type=Path, default=None, help="write failed scenarios' actual runs here")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "handoff_sim(agent_file=None, settings=None, transport='asgi'): configure the handoff_sim fixture"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    folder = file_path.parent.name
    if file_path.suffix == ".json" and folder in ("scenarios", "recordings") and ".actual." not in file_path.name:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        transport = self.config.getoption("--scenario-transport")
        result = asyncio.run(run_file(self.path, transport=transport, trace=False))
        if not result.passed:
            folder = self.config.getoption("--write-actual")
            extra = f"\nactual run written to {write_actual(result, folder)}" if folder else ""
            raise ScenarioFailed(result.report + extra)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed | ScenarioFileError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.path.name}"


async def _handoff_sim(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The whole simulator, started in-process on virtual time, with `user()` and `agent()` actors."""
    marker = request.node.get_closest_marker("handoff_sim")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    async with handoff_simulator(
        options.get("settings"), agent_file=options.get("agent_file"), transport=options.get("transport", "asgi")
    ) as harness:
        yield harness


try:  # the fixture is async; without pytest-asyncio, scenario files still run
    import pytest_asyncio
except ImportError:  # pragma: no cover - depends on the user's environment
    pass
else:
    handoff_sim = pytest_asyncio.fixture(_handoff_sim, name="handoff_sim")
