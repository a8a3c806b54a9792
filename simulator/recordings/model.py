"""The recording file format: a scenario plus, under `recording`, its version and the relay's exchanges.

`schemas/recording.schema.json` is generated from these models (a test keeps the committed file
in step). A recording is a valid scenario file too, so `replay` and pytest run it unchanged.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simulator.scenarios.model import Scenario

if TYPE_CHECKING:
    from simulator.scenarios.loader import SchemaCheck

# Bump when a recording written by the previous version would no longer replay correctly.
RECORDING_VERSION = 1

NORMALISED = (
    "ids -> <id:N> (same id, same placeholder), timestamps -> <time>; retries of one call folded into one "
    "exchange with the final status; typing events, /activity calls, the bot's events and the widget's echoes "
    "left out"
)


class Exchange(BaseModel):
    """One thing the relay sent out: a SunCo call, or a chat event / SMS delivered to an end user."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=1, description="exchange number, as failures name it")
    user: str = Field(description="whose conversation (a key of `users`)")
    kind: Literal["sunco.call", "widget.out", "sms.out"]
    method: str | None = None
    path: str | None = None
    request: Any = Field(None, description="the JSON body the relay sent, normalised")
    status: int | None = Field(None, description="the final HTTP status (null: no answer)")
    attempts: int | None = Field(None, description="how many attempts were folded in (not compared)")
    type: str | None = Field(None, description="chat event type, without EVENT_TYPE_")
    payload: dict[str, Any] | None = None
    to: str | None = None
    body: str | None = None


class RecordingPart(BaseModel):
    """What makes a scenario file a recording."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(description=f"recording format version (this simulator writes {RECORDING_VERSION})")
    recorded_from: Literal["live", "trace"] = Field("live", description="a live server, or a JSON Lines trace")
    normalised: str = Field(NORMALISED, description="what was normalised, for the reader")
    exchanges: list[Exchange] = Field(description="in trace order; replay compares them per user")


class Recording(Scenario):
    """A recorded session: a scenario (steps, expectations) plus the relay's normalised exchanges."""

    recording: RecordingPart  # type: ignore[assignment]


@cache
def recording_schema() -> dict[str, Any]:
    """The JSON Schema for recording files."""
    from simulator.scenarios.loader import file_schema

    return file_schema(Recording, "recording.schema.json")


@cache
def _schema_check() -> SchemaCheck:
    from simulator.scenarios.loader import SchemaCheck

    return SchemaCheck(recording_schema)


def check_recording(data: dict[str, Any], text: str, source: str) -> None:
    """Reject a damaged recording, or one of another format version, with one error naming what is wrong."""
    from simulator.scenarios.loader import ScenarioFileError, json_path, line_of

    part = data.get("recording")
    version = part.get("version") if isinstance(part, dict) else None
    where = f"{source}:{line_of(text, ['recording', 'version'])}: $.recording.version"
    if isinstance(version, int) and not isinstance(version, bool):
        if version < RECORDING_VERSION:
            raise ScenarioFileError(
                f"{where}: recording format version {version} is older than this simulator's "
                f"({RECORDING_VERSION}); record the flow again (serve --record NAME)"
            )
        if version > RECORDING_VERSION:
            raise ScenarioFileError(
                f"{where}: recording format version {version} is newer than this simulator's "
                f"({RECORDING_VERSION}); upgrade the simulator to replay it"
            )
    _schema_check().check(data, text, source)
    users = set(data.get("users") or {"user": None})
    for index, exchange in enumerate(data["recording"]["exchanges"]):
        if exchange["user"] not in users:
            parts: list[str | int] = ["recording", "exchanges", index, "user"]
            raise ScenarioFileError(
                f"{source}:{line_of(text, parts)}: {json_path(parts)}: {exchange['user']!r} is not one of the "
                f"recording's users {sorted(users)}"
            )


def dump(data: dict[str, Any]) -> str:
    """A recording as text: one step, user or exchange per line, so a review diff shows what changed."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def rows(items: list[Any] | dict[str, Any], indent: str) -> str:
        if isinstance(items, dict):
            lines = [f"{indent}{one(key)}: {one(value)}" for key, value in items.items()]
            return "{\n" + ",\n".join(lines) + "\n" + indent[:-2] + "}"
        return "[\n" + ",\n".join(indent + one(item) for item in items) + "\n" + indent[:-2] + "]"

    lines = []
    for key, value in data.items():
        if key in ("steps", "users") and value:
            text = rows(value, "    ")
        elif key == "recording" and isinstance(value, dict):
            inner = [
                f"    {one(k)}: {rows(v, '      ') if k == 'exchanges' and v else one(v)}" for k, v in value.items()
            ]
            text = "{\n" + ",\n".join(inner) + "\n  }"
        else:
            text = one(value)
        lines.append(f"  {one(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
