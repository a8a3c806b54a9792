"""`python -m simulator replay`: run scenario files with progress, a summary and optional JUnit XML."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TextIO

from simulator.gc_tuning import spaced_collections
from simulator.scenarios.loader import ScenarioFileError, find_scenarios
from simulator.scenarios.runner import ScenarioResult, run_file, write_actual


async def replay(
    paths: list[Path],
    *,
    transport: Literal["asgi", "socket"] = "asgi",
    junit: Path | None = None,
    actual_dir: Path | None = None,
    out: TextIO | None = None,
    loose: bool = False,
) -> int:
    """Run every scenario under `paths`; exit code 0 when all pass, 1 when any fails, 2 when none found."""
    out = out or sys.stdout
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files = find_scenarios(paths or [Path("scenarios")])
    if not files:
        where = ", ".join(str(p) for p in paths) if paths else "scenarios"
        print(f"error: no scenario files under {where}", file=sys.stderr)
        return 2
    results: list[ScenarioResult] = []
    # One simulator per scenario comes and goes: collect as a server does, not every 700 objects.
    with spaced_collections():
        for index, path in enumerate(files, 1):
            print(f"[{index}/{len(files)}] {path.name} ...", end=" ", file=out, flush=True)
            with _captured_logs() as logs:
                try:
                    result = await run_file(path, transport=transport, loose=loose, trace=False)
                except ScenarioFileError as exc:
                    result = ScenarioResult(path.stem, str(path), passed=False, report=f"invalid scenario file: {exc}")
            results.append(result)
            verdict = "ok" if result.passed else "FAILED"
            print(f"{verdict} ({result.real_seconds:.2f} s, {result.virtual_seconds:.1f} virtual s)", file=out)
            if not result.passed:
                print(_indent(result.report), file=out)
                if logs:
                    print("    log (warnings and errors during the run):", file=out)
                    print(_indent("\n".join(logs[-MAX_LOG_LINES:]), "      "), file=out)
                if actual_dir is not None and result.actual:
                    print(f"    actual run written to {write_actual(result, actual_dir)}", file=out)
    if junit is not None:
        _write_junit(results, junit)
    passed = sum(r.passed for r in results)
    total_real = sum(r.real_seconds for r in results)
    print(f"\n{passed} passed, {len(results) - passed} failed in {total_real:.2f} s", file=out)
    return 0 if passed == len(results) else 1


def run_replay(
    paths: list[Path],
    transport: Literal["asgi", "socket"],
    junit: Path | None,
    actual: Path | None,
    loose: bool = False,
) -> int:
    if not paths and Path("recordings").is_dir():  # by default, the recordings run like the scenarios
        paths = [p for p in (Path("scenarios"), Path("recordings")) if p.is_dir()]
    return asyncio.run(replay(paths, transport=transport, junit=junit, actual_dir=actual, loose=loose))


MAX_LOG_LINES = 30


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def _captured_logs() -> Iterator[list[str]]:
    """Hold a scenario's warnings back, to show them only if it fails (faults log on purpose)."""
    lines: list[str] = []
    handler = _ListHandler(lines)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _write_junit(results: list[ScenarioResult], path: Path) -> None:
    failures = sum(not r.passed for r in results)
    suite = ET.Element(
        "testsuite",
        name="scenarios",
        tests=str(len(results)),
        failures=str(failures),
        time=f"{sum(r.real_seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite, "testcase", classname="scenarios", name=Path(result.source).stem, time=f"{result.real_seconds:.3f}"
        )
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=result.report.splitlines()[0] if result.report else "")
            failure.text = result.report
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
