"""Matching what an actor saw against what a scenario expects."""

from __future__ import annotations

import re
from typing import Any

from simulator.scenarios.actors import event_text, short_type
from simulator.scenarios.model import AttachmentMatch, EventMatch, TextMatch

LEVEL_PREFIX = "SYSTEM_MESSAGE_LEVEL_"
ATTACHMENT_PREFIX = "ATTACHMENT_CONTENT_TYPE_"


def text_matches(expected: str | TextMatch | None, actual: str) -> bool:
    """A plain string matches exactly; otherwise exact / contains / regex (search)."""
    if expected is None:
        return True
    if isinstance(expected, str):
        return actual == expected
    if expected.exact is not None:
        return actual == expected.exact
    if expected.contains is not None:
        return expected.contains in actual
    return re.search(expected.regex or "", actual) is not None


def event_matches(match: EventMatch, event: dict[str, Any]) -> bool:
    """Whether one event (widget envelope, SMS or transcript line) satisfies a matcher."""
    if match.type is not None and short_type(str(event.get("type", ""))) != short_type(match.type):
        return False
    payload = event.get("payload") or {}
    if match.level is not None and str(payload.get("level", "")).removeprefix(LEVEL_PREFIX) != match.level:
        return False
    if match.attachments is not None and not attachments_match(match.attachments, payload.get("attachments") or []):
        return False
    return text_matches(match.text, event_text(event))


def attachments_match(expected: list[AttachmentMatch], actual: list[dict[str, Any]]) -> bool:
    """The attachments, one matcher each, in order (an empty list matches a message with none)."""
    if len(expected) != len(actual):
        return False
    for want, card in zip(expected, actual, strict=True):
        kind = str(card.get("content_type") or "").removeprefix(ATTACHMENT_PREFIX).lower()
        if want.type is not None and kind != want.type:
            return False
        if not text_matches(want.title, str(card.get("title") or "")):
            return False
        if not text_matches(want.url, str(card.get("content_url") or "")):
            return False
    return True


def find_in_order(matches: list[EventMatch], events: list[dict[str, Any]], start: int) -> tuple[int, int]:
    """Match `matches` as an ordered subsequence of `events[start:]`.

    Returns (how many matchers matched, index just after the last matched event).
    """
    position = start
    matched = 0
    for match in matches:
        while position < len(events) and not event_matches(match, events[position]):
            position += 1
        if position >= len(events):
            break
        matched += 1
        position += 1
    return matched, position


def describe_match(match: EventMatch) -> str:
    """A matcher as a person reads it: `LIVE_AGENT_MESSAGE "Hi"` or `* ~"agent"`."""
    kind = short_type(match.type) if match.type else "*"
    text = match.text
    if text is None:
        shown = ""
    elif isinstance(text, str):
        shown = f' "{text}"'
    elif text.exact is not None:
        shown = f' "{text.exact}"'
    elif text.contains is not None:
        shown = f' ~"{text.contains}"'
    else:
        shown = f" /{text.regex}/"
    if match.level is not None:
        shown += f" [{match.level}]"
    if match.attachments is not None:
        shown += f" +{len(match.attachments)} attachment(s)"
    return kind + shown + (" (once)" if match.once else "")


def describe_event(event: dict[str, Any]) -> str:
    """An event as a person reads it: `LIVE_AGENT_MESSAGE "Hi"`."""
    text = event_text(event)
    payload = event.get("payload") or {}
    cards = payload.get("attachments") or []
    shown = short_type(str(event.get("type", "?"))) + (f' "{text}"' if text else "")
    if payload.get("level"):
        shown += f" [{str(payload['level']).removeprefix(LEVEL_PREFIX)}]"
    if cards:
        shown += " +" + ", ".join(f"[{c.get('title') or ''} {c.get('content_url') or ''}]".strip() for c in cards)
    return shown


def side_by_side(title_left: str, left: list[str], title_right: str, right: list[str], marker: int = -1) -> str:
    """Two columns, the expected beside the actual; `marker` flags the first expected line not met."""
    width = max([len(title_left), *(len(line) for line in left)], default=10) + 4
    rows = [f"  {title_left:<{width}}{title_right}", f"  {'-' * (width - 2):<{width}}{'-' * 30}"]
    for index in range(max(len(left), len(right))):
        lhs = left[index] if index < len(left) else ""
        rhs = right[index] if index < len(right) else ""
        flag = ">" if index == marker else " "
        rows.append(f"{flag} {lhs:<{width}}{rhs}")
    return "\n".join(rows)
