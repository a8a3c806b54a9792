"""Comparing a replay's exchanges with the recorded ones, and saying which exchange differs and how.

Exchanges are compared per stream (one user's SunCo calls; one user's chat events), in order
within a stream: two conversations, or a call and a chat event, may interleave differently
from run to run without anything being wrong. Placeholders pair up one to one: `<id:3>` in the
recording must be the same id everywhere the replay has it, whatever number the replay gave it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

from simulator.recordings.exchanges import label
from simulator.recordings.normalise import PLACEHOLDER

COMPARED = {
    "sunco.call": ("method", "path", "request", "status"),
    "widget.out": ("type", "payload"),
    "sms.out": ("to", "body"),
}
MAX_PROBLEMS = 8


class _Pairs:
    """The one-to-one pairing of recorded placeholders with the replay's."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self.back: dict[str, str] = {}

    def pair(self, expected: str, actual: str) -> bool:
        if self.forward.get(expected, actual) != actual or self.back.get(actual, expected) != expected:
            return False
        self.forward[expected] = actual
        self.back[actual] = expected
        return True


def _texts_match(expected: str, actual: str, pairs: _Pairs) -> bool:
    exp_parts, act_parts = PLACEHOLDER.split(expected), PLACEHOLDER.split(actual)
    exp_ids, act_ids = PLACEHOLDER.findall(expected), PLACEHOLDER.findall(actual)
    if exp_parts != act_parts or len(exp_ids) != len(act_ids):
        return False
    return all(pairs.pair(e, a) for e, a in zip(exp_ids, act_ids, strict=True))


def _differences(expected: Any, actual: Any, pairs: _Pairs, path: str = "") -> list[str]:
    """Each difference as `where: expected X got Y`."""
    where = path or "body"
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in expected:
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{sub} expected {_show(expected[key])} got nothing")
            else:
                found += _differences(expected[key], actual[key], pairs, sub)
        found += [
            f"{path + '.' if path else ''}{key} expected nothing got {_show(actual[key])}"
            for key in actual
            if key not in expected
        ]
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where} expected {len(expected)} items {_show(expected)}, got {len(actual)} {_show(actual)}"]
        found = []
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found += _differences(e, a, pairs, f"{path}[{index}]")
        return found
    if isinstance(expected, str) and isinstance(actual, str):
        return (
            [] if _texts_match(expected, actual, pairs) else [f"{where} expected {_show(expected)} got {_show(actual)}"]
        )
    if expected == actual and type(expected) is type(actual):
        return []
    return [f"{where} expected {_show(expected)} got {_show(actual)}"]


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def _signature(exchange: dict[str, Any]) -> str:
    """What aligns two streams: the call (method, path) or the event type, ids blurred."""
    if exchange.get("kind") == "sunco.call":
        return f"{exchange.get('method')} {re.sub(PLACEHOLDER, '<id>', str(exchange.get('path')))}"
    return f"{exchange.get('kind')} {exchange.get('type', '')}"


def _streams(exchanges: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    streams: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for exchange in exchanges:
        family = "sunco" if exchange.get("kind") == "sunco.call" else "chat"
        streams.setdefault((str(exchange.get("user")), family), []).append(exchange)
    return streams


def _acts(exchanges: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exchanges that do something: the relay's SunCo reads (GET) are left out, since how often
    it reads a conversation back (after a webhook, when it goes quiet) depends on timing."""
    return [e for e in exchanges if not (e.get("kind") == "sunco.call" and e.get("method") == "GET")]


def compare_exchanges(expected: Sequence[dict[str, Any]], actual: Sequence[dict[str, Any]]) -> list[str]:
    """Readable differences, e.g. `exchange 7, POST .../messages: content.text expected 'Hi' got 'Hi!'`."""
    pairs = _Pairs()
    problems: list[str] = []
    want, got = _streams(_acts(expected)), _streams(_acts(actual))
    for key in sorted(set(want) | set(got)):
        problems += _compare_stream(key, want.get(key, []), got.get(key, []), pairs)
    problems.sort(key=_number)
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more differences"]
    return problems


def _number(problem: str) -> int:
    match = re.match(r"(?:exchange|after exchange) (\d+)", problem)
    return int(match.group(1)) if match else 0


def _compare_stream(
    key: tuple[str, str], want: list[dict[str, Any]], got: list[dict[str, Any]], pairs: _Pairs
) -> list[str]:
    problems: list[str] = []
    matcher = difflib.SequenceMatcher(a=[_signature(e) for e in want], b=[_signature(e) for e in got], autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op in ("equal", "replace"):
            for e, a in zip(want[a1:a2], got[b1:b2], strict=False):
                fields = COMPARED.get(str(e.get("kind")), ())
                diffs = []
                for field in fields:
                    diffs += _differences(e.get(field), a.get(field), pairs, "" if field == "request" else field)
                if e.get("kind") != a.get("kind"):
                    diffs = [f"expected {label(e)} got {label(a)}"]
                problems += [f"exchange {e['n']}, {label(e)}: {d}" for d in diffs[:3]]
            a1, b1 = a1 + min(a2 - a1, b2 - b1), b1 + min(a2 - a1, b2 - b1)
        for e in want[a1:a2]:
            problems.append(f"exchange {e['n']}, {label(e)}: missing (the replay's relay did not do it)")
        for a in got[b1:b2]:
            before = want[a1 - 1]["n"] if a1 > 0 else 0
            where = f"after exchange {before}" if before else f"before the first exchange of {key[0]}"
            problems.append(f"{where}: unexpected {label(a)} {_show(_brief(a))}")
    return problems


def _brief(exchange: dict[str, Any]) -> Any:
    if exchange.get("kind") == "sunco.call":
        return exchange.get("request")
    if exchange.get("kind") == "widget.out":
        return exchange.get("payload")
    return exchange.get("body")
