"""Loading scenario files: reject an invalid one before anything runs, naming the JSON path and line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from simulator.scenarios.model import Scenario

if TYPE_CHECKING:  # loaded with the first file: the TUI imports this module at start-up
    import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "scenario.schema.json"


class ScenarioFileError(Exception):
    """A scenario file is not valid; the message says where (file, line, JSON path) and what."""


def file_schema(model: type[BaseModel], file_name: str) -> dict[str, Any]:
    """The JSON Schema of a file format, generated from its model (the committed file mirrors it)."""
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://github.com/zendesk-handoff-simulator/schemas/{file_name}"
    return schema


@cache
def scenario_schema() -> dict[str, Any]:
    """The JSON Schema for scenario files."""
    return file_schema(Scenario, "scenario.schema.json")


class SchemaCheck:
    """One file format's schema check. Its two validators are built once per process, on first use
    (compiling costs more than checking a file): jsonschema-rs tells a valid file in microseconds,
    and jsonschema judges any other and words the error."""

    def __init__(self, schema: Callable[[], dict[str, Any]]) -> None:
        self._schema = schema

    @cached_property
    def _fast(self) -> Any:
        return fast_validator(self._schema())

    @cached_property
    def _judge(self) -> jsonschema.Draft202012Validator:
        import jsonschema

        return jsonschema.Draft202012Validator(self._schema())

    def check(self, data: Any, text: str, source: str) -> None:
        """Raise ScenarioFileError naming file, line and JSON path of the most relevant schema error."""
        if self._fast is not None and self._fast.is_valid(data):
            return
        from jsonschema.exceptions import best_match

        error = best_match(self._judge.iter_errors(data))
        if error is not None:
            parts = list(error.absolute_path)
            raise ScenarioFileError(f"{source}:{line_of(text, parts)}: {json_path(parts)}: {error.message}")


_SCENARIO_CHECK = SchemaCheck(scenario_schema)


def fast_validator(schema: dict[str, Any]) -> Any:
    """`schema` compiled by jsonschema-rs, only to tell a valid file quickly (a few microseconds, against
    milliseconds): jsonschema still judges any file it does not pass, and words the error. None if it
    is not installed or cannot compile the schema."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        return jsonschema_rs.validator_for(schema)
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError):
        return None


def json_path(parts: list[str | int]) -> str:
    """`["steps", 3, "user"]` -> `$.steps[3].user`."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def line_of(text: str, parts: list[str | int]) -> int:
    """The line where the value at `parts` starts in the JSON `text` (best effort: its parent's line)."""
    positions = _positions(text)
    for cut in range(len(parts), -1, -1):
        key = tuple(parts[:cut])
        if key in positions:
            return text.count("\n", 0, positions[key]) + 1
    return 1


def _positions(text: str) -> dict[tuple[str | int, ...], int]:
    """Offsets of every value in a JSON document, keyed by its path. Assumes the text parsed."""
    found: dict[tuple[str | int, ...], int] = {}
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        match = ws.match(text, i)
        return match.end() if match else i

    def value(i: int, path: tuple[str | int, ...]) -> int:
        i = skip(i)
        found[path] = i
        if text[i] == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, i = decoder.raw_decode(text, skip(i))
                i = skip(i) + 1  # the colon
                i = skip(value(i, (*path, key)))
                if text[i] == "}":
                    return i + 1
                i += 1  # the comma
        if text[i] == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = skip(value(i, (*path, index)))
                index += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        _, end = decoder.raw_decode(text, i)
        return int(end)

    value(0, ())
    return found


def _clean_loc(loc: tuple[Any, ...]) -> list[str | int]:
    # Pydantic puts the union member's class name in the location; people never wrote it.
    return [part for part in loc if not (isinstance(part, str) and (part[:1].isupper() or "[" in part))]


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate and parse scenario JSON text; raise ScenarioFileError naming file, line and path."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict) and "recording" in data:
        from simulator.recordings.model import check_recording  # a recording: its own schema and version

        check_recording(data, text, source)
    _SCENARIO_CHECK.check(data, text, source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        chosen = next((e for e in errors if e["type"] == "value_error"), errors[0])
        parts = _clean_loc(chosen["loc"])
        message = str(chosen["msg"]).removeprefix("Value error, ")
        raise ScenarioFileError(f"{source}:{line_of(text, parts)}: {json_path(parts)}: {message}") from None


def read_scenario(path: Path) -> tuple[Scenario, str]:
    """Read and validate one scenario file; returns the scenario and its text (for line numbers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(path)), text


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    return read_scenario(path)[0]


def find_scenarios(paths: list[Path]) -> list[Path]:
    """Scenario files under the given files or folders, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob("*.json")))
        else:
            found.append(path)
    return found
