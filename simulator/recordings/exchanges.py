"""The relay's outgoing exchanges, normalised so two runs of the same flow compare equal.

An exchange is either one SunCo call the relay made (method, path, request body, final HTTP
status) or one chat event delivered to an end user (a webchat event's type and payload, or an
SMS text). What is left out, because it legitimately varies between runs:

- retries: consecutive identical attempts of one call are one exchange, with the final status
  (how many attempts a backoff with jitter fits in a deadline is timing, not behaviour);
- typing: transient chat events (`LIVE_AGENT_TYPING`) and the best-effort `/activity` calls;
- the bot's own events and the widget's echoes of what the user did (the scenario part checks
  what the user saw; these are not the relay's), and history batches re-sent on reconnect;
- calls that belong to no end user's conversation (start-up checks);
- (when compared) the relay's reads (GET): how often it reads a conversation back is timing;
- ids and timestamps (see `normalise.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.recordings.flow import Entry, Participants, obj
from simulator.recordings.normalise import PLACEHOLDER, Normaliser, ids_in

# Chat events that come from the widget or the bot, not from the relay.
NOT_RELAY_EVENTS = {"SESSION_START", "USER_MESSAGE", "REQUEST_POLY_AGENT_JOIN", "EVENT_BATCH", "HEARTBEAT"}
RELAY_BOT_EVENTS = {"POLY_AGENT_TRIGGERED_HANDOFF", "POLY_AGENT_LEFT"}


def short_type(event_type: str) -> str:
    return event_type.removeprefix("EVENT_TYPE_")


def is_relay_event(event: dict[str, Any]) -> bool:
    """Whether a widget event is one the relay delivered (not the bot's, not an echo, not transient)."""
    kind = short_type(str(event.get("type", "")))
    if event.get("sequence") is None or kind in NOT_RELAY_EVENTS:
        return False
    return not kind.startswith(("POLY_AGENT_", "USER_")) or kind in RELAY_BOT_EVENTS


def normaliser_for(entries: Sequence[Entry]) -> Normaliser:
    """A normaliser that knows every id the trace carries."""
    known: list[str] = []
    for entry in entries:
        known += [x for x in (entry.session, entry.conversation) if x]
        if entry.ticket is not None:
            known.append(str(entry.ticket))
        known += ids_in(entry.data)
    return Normaliser(known)


def exchanges_of(entries: Sequence[Entry], people: Participants, norm: Normaliser) -> list[dict[str, Any]]:
    """The normalised exchanges of a run, in trace order, numbered from 1 (`n`)."""
    found: list[dict[str, Any]] = []
    last_call: dict[str, dict[str, Any]] = {}  # per user: the previous SunCo call, to fold retries into
    for entry in sorted(entries, key=lambda e: e.seq):
        user = people.user_of(entry)
        if user is None:
            continue
        item = _exchange(entry, norm)
        if item is None:
            continue
        if item["kind"] == "sunco.call":
            previous = last_call.get(user.name)
            if previous is not None and _same_call(previous, item):
                previous["status"] = item["status"]
                previous["attempts"] = previous.get("attempts", 1) + 1
                continue
        item = {"n": len(found) + 1, "user": user.name, **item}
        if item["kind"] == "sunco.call":
            last_call[user.name] = item
        found.append(item)
    return found


def _same_call(a: dict[str, Any], b: dict[str, Any]) -> bool:
    # The previous one must have failed: a repeat of a call that succeeded is behaviour, not a retry.
    failed = a["status"] is None or a["status"] >= 400
    return failed and all(a.get(k) == b.get(k) for k in ("method", "path", "request"))


def _exchange(entry: Entry, norm: Normaliser) -> dict[str, Any] | None:
    data = entry.data
    if entry.kind == "sunco.call":
        path = str(data.get("path", ""))
        if path.split("?")[0].endswith("/activity"):
            return None
        return {
            "kind": "sunco.call",
            "method": str(data.get("method", "")).upper(),
            "path": norm.text(path),
            "request": norm.value(data.get("request")),
            "status": entry.status,
        }
    if entry.kind == "widget.out":
        event = obj(data.get("event"))
        if not is_relay_event(event):
            return None
        return {
            "kind": "widget.out",
            "type": short_type(str(event.get("type"))),
            "payload": norm.value(event.get("payload") or {}),
        }
    if entry.kind == "sms.out":
        return {"kind": "sms.out", "to": data.get("to"), "body": norm.text(str(data.get("body", "")))}
    return None


def label(exchange: dict[str, Any]) -> str:
    """How a person names an exchange: `POST .../messages`, `LIVE_AGENT_MESSAGE`, `SMS to +1555...`."""
    kind = exchange.get("kind")
    if kind == "sunco.call":
        parts = [p for p in str(exchange.get("path", "")).split("?")[0].split("/") if p]
        tail = parts[-2:] if parts and PLACEHOLDER.fullmatch(parts[-1]) else parts[-1:]
        return f"{exchange.get('method')} .../{'/'.join(tail)}"
    if kind == "widget.out":
        return f"chat event {exchange.get('type')}"
    return f"SMS to {exchange.get('to')}"
