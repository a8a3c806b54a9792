"""One inspector line per trace entry, in the spirit of a webhook-forwarding CLI (pure, no I/O).

`-->` goes into the system (an end user's event, a call the relay makes to SunCo, an agent's
action); `<--` comes back out (an event a user receives, a webhook delivered to the relay, a
ticket status webhook, a text sent); `···` is the relay changing state.
"""

from __future__ import annotations

import re
from typing import Any

IN, OUT, STATE = "-->", "<--", "···"
_APP_PREFIX = re.compile(r"^/v2/apps/[^/]+")
_LONG_ID = re.compile(r"\b([0-9a-f]{6})[0-9a-f]{18}\b")


def short_path(path: str) -> str:
    """`/v2/apps/APP/conversations/9c6e2985ca5127564b622763/messages` -> `…/conversations/9c6e29…/messages`.

    The line stays readable; the selected line's JSON has the whole path.
    """
    path = _APP_PREFIX.sub("…", path)
    return _LONG_ID.sub(r"\1…", path)


def _event_type(event: Any) -> str:
    if isinstance(event, dict):
        return str(event.get("type", "")).removeprefix("EVENT_TYPE_")
    return ""


def _ms(ms: float | None) -> str:
    return "" if ms is None else f" ({ms:.0f} ms)" if ms >= 10 else f" ({ms:.1f} ms)"


def trace_line(entry: Any) -> tuple[str, str]:
    """(arrow, text) for one `TraceEntry`."""
    data: dict[str, Any] = entry.data or {}
    kind = entry.kind
    status = f"[{entry.status}] " if entry.status is not None else ""
    if kind == "widget.in":
        event = data.get("event") or {}
        text = ((event.get("payload") or {}).get("text") if isinstance(event, dict) else None) or ""
        said = f" {text!r}" if text else ""
        return IN, f"{data.get('channel', 'webchat')} {_event_type(event)}{said}"
    if kind == "widget.out":
        event = data.get("event") or {}
        return OUT, f"{data.get('channel', 'webchat')} {_event_type(event)}"
    if kind == "sms.out":
        return OUT, f"sms to {data.get('to', '?')}: {str(data.get('body', ''))[:60]!r}"
    if kind in ("sunco.call", "support.call"):
        error = f" {data['error']}" if data.get("error") else ""
        path = short_path(str(data.get("path", entry.summary)))
        return IN, f"{status}{data.get('method', '')} {path}{_ms(entry.ms)}{error}"
    if kind in ("webhook", "status.webhook"):
        what = "status webhook" if kind == "status.webhook" else ",".join(data.get("event_types") or []) or "webhook"
        outcome = data.get("outcome") or ""
        return OUT, f"{status}{what} attempt {data.get('attempt', 1)} {outcome}{_ms(entry.ms)}".rstrip()
    if kind == "agent.action":
        action = data.get("action", "")
        detail = data.get("text") or data.get("status") or ("typing" if data.get("typing") else "")
        ticket = f" #{entry.ticket}" if entry.ticket is not None else ""
        return IN, f"agent {data.get('agent') or ''} {action}{ticket} {detail!r}".replace(" ''", "").replace("  ", " ")
    if kind == "relay.state":
        why = f" ({data['why']})" if data.get("why") else ""
        return STATE, f"relay {data.get('from', '?')} → {data.get('to', '?')}{why}"
    return STATE, entry.summary


def clock_of(entry: Any) -> str:
    """The time of day of the entry (`HH:MM:SS`, with milliseconds when the clock has them)."""
    stamp = str(entry.time)
    return stamp.partition("T")[2].removesuffix("Z").split("+")[0][:12] or stamp
