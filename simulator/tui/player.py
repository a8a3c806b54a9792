"""The scenario player: run a scenario file in its own simulator on virtual time, all at once or step by step.

It uses the runner `replay` uses (so the result reads the same) with a step hook: before each step
the panes are pointed at the scenario's simulator and refreshed, and in step mode the run waits
for the person to ask for the next step. Waits in the scenario pass on virtual time.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from simulator.scenarios.harness import Harness
from simulator.scenarios.loader import find_scenarios, read_scenario
from simulator.scenarios.model import Step
from simulator.scenarios.runner import ScenarioResult, run_scenario
from simulator.tui import model as m
from simulator.tui.controller import Controller


def scenario_files(folders: tuple[Path, ...]) -> list[Path]:
    """Scenario files the player can pick: `scenarios/*.json`, then `recordings/*.json`."""
    return find_scenarios([folder for folder in folders if folder.is_dir()])


def describe_step(step: Step) -> str:
    """One line for a step, as the scenario file has it."""
    return json.dumps(step.model_dump(by_alias=True, exclude_defaults=True), ensure_ascii=False)


def result_text(result: ScenarioResult) -> str:
    """The result as `replay` prints it: the verdict line, then the report of the first failure."""
    verdict = "ok" if result.passed else "FAILED"
    took = f"{result.real_seconds:.2f} s, {result.virtual_seconds:.1f} virtual s"
    line = f"{Path(result.source).name} ... {verdict} ({took})"
    if result.passed:
        return line
    return line + "\n" + "\n".join("    " + row for row in result.report.splitlines())


class Player:
    """Plays one scenario at a time into the panes through the controller."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.state = controller.state
        self._gate = asyncio.Event()
        self._names: dict[str, str] = {}

    @property
    def busy(self) -> bool:
        return self.state.player.running

    async def play(self, path: Path, *, stepping: bool) -> ScenarioResult:
        """Run the file; the result is also put in `state.player` for the screen."""
        scenario, text = read_scenario(path)
        self._names = {name: spec.name or name for name, spec in scenario.users.items()}
        self.state.player = m.Player(
            source=str(path), name=scenario.name, stepping=stepping, running=True, total=len(scenario.steps)
        )
        self.state.changed(m.PLAYER)
        try:
            result = await run_scenario(
                scenario, source=str(path), text=text, base_dir=path.parent, on_step=self._on_step
            )
        finally:
            self.state.player.running = False
        player = self.state.player
        player.result, player.passed = result_text(result), result.passed
        self.state.changed(m.PLAYER)
        return result

    async def _on_step(self, harness: Harness, index: int, step: Step | None) -> None:
        controller = self.controller
        if self.state.mode != "scenario" or controller.source.sim is not harness.sim:
            controller.attach(harness.client, harness.settings, harness.sim, harness.users, self._names)
        for name in harness.users:  # users a step connected since
            if f"s-{name}" not in controller.actors:
                controller.attach(harness.client, harness.settings, harness.sim, harness.users, self._names)
                break
        await controller.refresh()
        player = self.state.player
        player.index = index
        player.step = describe_step(step) if step is not None else "finished"
        self.state.changed(m.PLAYER)
        if step is None:
            controller.frozen = True  # the scenario's simulator stops next
            return
        if player.stepping:
            self._gate.clear()
            await self._gate.wait()

    def next_step(self) -> None:
        """Run the step shown (step mode)."""
        self._gate.set()

    def run_to_end(self) -> None:
        """Stop pausing: run the remaining steps at full speed."""
        self.state.player.stepping = False
        self.state.changed(m.PLAYER)
        self._gate.set()

    def close(self) -> None:
        """Leave the finished scenario's view and show the live simulator again."""
        self.state.player = m.Player()
        self.controller.detach()
