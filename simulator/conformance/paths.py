"""Helpers of the conformance plan: concrete paths, unknown ids, and mutated bodies."""

from __future__ import annotations

import copy
import re
from typing import Any

UNKNOWN_ID = "0123456789abcdef01234567"


def concrete(template: str, ids: dict[str, str]) -> str:
    """A spec path with remembered ids filled in (the last ones made)."""
    names = {
        "appId": ids["app"],
        "conversationId": ids.get("group", UNKNOWN_ID),
        "userIdOrExternalId": ids.get("user", UNKNOWN_ID),
        "integrationId": ids.get("integration", UNKNOWN_ID),
        "switchboardId": ids.get("board", UNKNOWN_ID),
        "zendeskId": ids.get("user", UNKNOWN_ID),
    }
    return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), UNKNOWN_ID), template)


def unknown_last_id(template: str, path: str) -> str | None:
    """The same path with its last id parameter replaced by an id that does not exist."""
    params = re.findall(r"\{(\w+)\}", template)
    if not params or params == ["appId"] and not template.endswith("{appId}"):
        return None
    parts = path.split("/")
    template_parts = template.split("/")
    for index in range(len(template_parts) - 1, -1, -1):
        if template_parts[index].startswith("{"):
            parts[index] = UNKNOWN_ID
            return "/".join(parts)
    return None


DROP = object()  # marks "drop this key" in a mutation
ODD_VALUES: tuple[Any, ...] = (None, 123, "x", [], {}, True, "y" * 5000)


def mutations(body: Any, path: tuple[Any, ...] = ()) -> Any:
    """(path, value) pairs: every key dropped, every node replaced by each odd value."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield path + (key,), DROP
            yield from mutations(value, path + (key,))
    elif isinstance(body, list):
        for index, value in enumerate(body[:2]):
            yield from mutations(value, path + (index,))
    if path:
        for value in ODD_VALUES:
            yield path, value


def apply(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(body)
    node = out
    for part in path[:-1]:
        node = node[part]
    if value is DROP:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out
