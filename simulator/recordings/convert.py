"""A trace of a session -> a recording: a scenario of what people did and saw, plus the relay's exchanges.

Steps are the end users' and agents' actions in trace order (and the faults injected while
recording), with the time between them: after each action, one expectation per user of what
they saw before the next action (`within` the recorded gap, at least `MIN_WITHIN` seconds, since
retries back off with jitter), then a `wait` for the rest of the gap. The last step also checks
each user's final relay state and, for a single handoff, the ticket's status, assignee and the
transcript lines the relay wrote.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from simulator.config import Settings
from simulator.recordings.exchanges import exchanges_of, normaliser_for, short_type
from simulator.recordings.flow import Entry, Participants, User, channel_of, obj
from simulator.recordings.model import NORMALISED, RECORDING_VERSION

# An expectation waits at least this long (virtual seconds): backoff jitter moves retries around.
MIN_WITHIN = 10.0
# Gaps shorter than this are not worth a `wait` step.
MIN_WAIT = 0.05
# The widget's echoes of the user's own actions. Not expected: when the user and the agent act at
# the same moment, the echo and the agent's message arrive in either order, and both are fine.
ECHOES = {"USER_MESSAGE", "REQUEST_POLY_AGENT_JOIN"}
# Settings that change what a flow does; a recording keeps those that differ from the defaults.
BEHAVIOUR_SETTINGS = (
    "relay_end_statuses",
    "relay_agent_join_timeout_seconds",
    "relay_outbox_deadline_seconds",
    "relay_sunco_max_attempts",
    "widget_session_idle_seconds",
    "relay_held_messages_seconds",
    "zendesk_api_email",  # whether the relay reads tickets (not a secret; the token is, and is not kept)
)


@dataclass(frozen=True)
class FaultNote:
    """A fault injected while recording: after trace entry `after_seq`, at monotonic time `t`."""

    after_seq: int
    t: float
    spec: dict[str, Any] | Literal["clear"]


def behaviour_settings(settings: Settings) -> dict[str, Any]:
    """The settings that shape a flow and differ from the defaults (a recording replays with them)."""
    defaults = Settings.model_fields
    return {
        name: getattr(settings, name)
        for name in BEHAVIOUR_SETTINGS
        if getattr(settings, name) != defaults[name].get_default(call_default_factory=True)
    }


def to_recording(
    entries: Sequence[Entry],
    *,
    name: str,
    faults: Sequence[FaultNote] = (),
    settings: dict[str, Any] | None = None,
    agent_file: str | None = None,
    recorded_from: Literal["live", "trace"] = "live",
    end_t: float | None = None,
) -> dict[str, Any]:
    """Build the recording (as JSON data) of every conversation in `entries`."""
    entries = sorted(entries, key=lambda e: e.seq)
    people = Participants(entries)
    if not people.users:
        raise ValueError("nothing to record: the trace has no end-user conversation")
    builder = _Steps(entries, people)
    steps = builder.build(faults, end_t if end_t is not None else entries[-1].t)
    data: dict[str, Any] = {"$schema": "../schemas/recording.schema.json", "name": name}
    data["description"] = "A recorded session: replay also checks the relay's exchanges (--loose: only the steps)."
    if agent_file:
        data["agent_file"] = agent_file
    if settings:
        data["settings"] = settings
    data["users"] = {user.name: _user_def(user, entries, people) for user in people.users.values()}
    data["steps"] = steps
    data["recording"] = {
        "version": RECORDING_VERSION,
        "recorded_from": recorded_from,
        "normalised": NORMALISED,
        "exchanges": exchanges_of(entries, people, normaliser_for(entries)),
    }
    return data


def agent_file_for(settings: Settings, folder: Path) -> str | None:
    """The agent file a server ran with, relative to the recordings folder (None: the demo agent)."""
    if settings.polyai_agent_file is None:
        return None
    return Path(os.path.relpath(Path(settings.polyai_agent_file).resolve(), folder.resolve())).as_posix()


def _user_def(user: User, entries: Sequence[Entry], people: Participants) -> dict[str, Any]:
    if user.channel == "sms":
        return {"channel": "sms", "phone": user.phone}
    # A webchat user's made-up name is seeded by the session id; keep the one the relay sent Zendesk.
    for entry in entries:
        if entry.kind == "sunco.call" and people.user_of(entry) is user and _call_is(entry, "POST", "/users"):
            profile = (entry.data.get("request") or {}).get("profile") or {}
            name = " ".join(p for p in (profile.get("givenName"), profile.get("surname")) if p)
            found = {"name": name or None, "email": profile.get("email")}
            return {k: v for k, v in found.items() if v}
    return {}


def _call_is(entry: Entry, method: str, path_end: str) -> bool:
    path = str(entry.data.get("path", "")).split("?")[0]
    return str(entry.data.get("method", "")).upper() == method and path.endswith(path_end)


class _Steps:
    def __init__(self, entries: Sequence[Entry], people: Participants) -> None:
        self.entries = entries
        self.people = people
        self.first = next(iter(people.users))
        self.joined: set[str] = set()
        self.last_agent_action: dict[int | None, str] = {}
        # Per user: (seq, t, what they saw) in order, and how many are already expected.
        self.seen: dict[str, list[tuple[int, float, dict[str, Any]]]] = {u: [] for u in people.users}
        self.expected: dict[str, int] = dict.fromkeys(people.users, 0)
        self.transcripts: dict[str, _Transcript] = {}
        self.read_to: dict[str, int] = {}
        self.mine: dict[str, list[Entry]] = {u: [] for u in people.users}  # each user's entries, in order
        for entry in entries:
            if (user := people.user_of(entry)) is not None:
                self.mine[user.name].append(entry)
        self._collect_seen()

    def build(self, faults: Sequence[FaultNote], end_t: float) -> list[dict[str, Any]]:
        actions: list[tuple[float, float, dict[str, Any]]] = []
        for entry in self.entries:
            step = self._action(entry)
            if step is not None:
                actions.append((entry.seq, entry.t, step))
        actions += [(note.after_seq + 0.5, note.t, {"fault": note.spec}) for note in faults]
        actions.sort(key=lambda a: a[0])
        steps: list[dict[str, Any]] = []
        previous_t = self.entries[0].t
        for order, t, step in actions:
            steps += self._window(order, previous_t, max(t, previous_t), final=False)
            steps.append(step)
            previous_t = max(t, previous_t)
        steps += self._window(float("inf"), previous_t, max(end_t, previous_t), final=True)
        return steps

    def _window(self, before: float, start: float, end: float, *, final: bool) -> list[dict[str, Any]]:
        """What each user saw before `before` (a seq), then the rest of the gap as a wait."""
        gap = end - start
        within = round(max(gap, MIN_WITHIN), 3)
        steps: list[dict[str, Any]] = []
        last_seen = start
        for name, seen in self.seen.items():
            fresh = [item for item in seen[self.expected[name] :] if item[0] < before]
            self.expected[name] += len(fresh)
            expect: dict[str, Any] = {}
            if name != self.first:
                expect["as"] = name
            if fresh:
                expect["user_sees"] = [event for _, _, event in fresh]
                last_seen = max(last_seen, fresh[-1][1])
            if final:
                expect.update(self._final(name))
            else:
                expect.update(self._transcript_so_far(name, before))
            if set(expect) - {"as"}:
                steps.append({"expect": expect, "within": within})
        rest = round(end - last_seen, 3)
        if not final and rest >= MIN_WAIT:
            steps.append({"wait": rest})
        return steps

    # What people did
    def _action(self, entry: Entry) -> dict[str, Any] | None:
        user = self.people.user_of(entry)
        if user is None:
            return None
        if entry.kind == "widget.in":
            step = self._user_step(entry, user)
            if step is not None and user.name != self.first:
                step["as"] = user.name
            return step
        if entry.kind == "agent.action":
            previous = self.last_agent_action.get(entry.ticket)
            self.last_agent_action[entry.ticket] = str(entry.data.get("action"))
            if previous == "accept" and entry.data.get("action") == "status" and entry.data.get("status") == "open":
                return None  # accepting a new ticket opens it: not a step of its own
            step = self._agent_step(entry)
            if step is not None and user.name != self.first:
                step["for"] = user.name
            return step
        return None

    def _user_step(self, entry: Entry, user: User) -> dict[str, Any] | None:
        event = obj(entry.data.get("event"))
        payload = obj(event.get("payload"))
        kind = short_type(str(event.get("type", "")))
        text = payload.get("text", payload.get("body"))
        if channel_of(entry) == "sms":
            media = payload.get("media")
            if isinstance(media, list) and media:  # an MMS: its pictures and files too
                return {"user": "say", "text": str(text or ""), "media": media}
            return {"user": "say", "text": str(text)} if isinstance(text, str) else None
        if kind == "USER_MESSAGE" and isinstance(text, str):
            return {"user": "say", "text": text}
        if kind == "USER_TYPING":
            return {"user": "type" if "STARTED" in str(payload.get("state", "")) else "stop_typing"}
        if kind == "USER_END_SESSION":
            return {"user": "end"}
        if kind == "REQUEST_POLY_AGENT_JOIN":
            if user.name not in self.joined:  # the replay joins each user when it connects them
                self.joined.add(user.name)
                return None
            return {"user": "join"}
        return None

    @staticmethod
    def _agent_step(entry: Entry) -> dict[str, Any] | None:
        data = entry.data
        action = data.get("action")
        step: dict[str, Any]
        if action == "accept":
            step = {"agent": "accept"}
        elif action == "message" and isinstance(data.get("content"), dict):
            step = {"agent": "send", "content": data["content"]}  # an image, a file, a carousel...
        elif action == "message" and isinstance(data.get("text"), str):
            step = {"agent": "say", "text": data["text"]}
        elif action == "typing":
            step = {"agent": "type" if data.get("typing") else "stop_typing"}
        elif action == "status" and data.get("status"):
            step = {"agent": "set_status", "status": str(data["status"]).lower()}
        else:
            return None
        if data.get("agent"):
            step["as"] = str(data["agent"])
        return step

    # What people saw
    def _collect_seen(self) -> None:
        ids: dict[str, set[str]] = {name: set() for name in self.people.users}
        for entry in self.entries:
            user = self.people.user_of(entry)
            if user is None:
                continue
            if entry.kind == "sms.out":
                self.seen[user.name].append((entry.seq, entry.t, {"type": "SMS", "text": str(entry.data.get("body"))}))
            elif entry.kind == "widget.out" and channel_of(entry) != "sms":
                event = entry.data.get("event")
                for item in _unbatched(event if isinstance(event, dict) else {}):
                    event_id = str(item.get("id", ""))
                    if item.get("sequence") is None or (event_id and event_id in ids[user.name]):
                        continue  # transient (typing) or already shown (history on reconnect)
                    if short_type(str(item.get("type", ""))) in ECHOES:
                        continue  # the user's own action shown back: races the other side's events
                    ids[user.name].add(event_id)
                    self.seen[user.name].append((entry.seq, entry.t, _match(item)))

    def _final(self, name: str) -> dict[str, Any]:
        """The final relay state and (for one handoff) the ticket, from the user's entries."""
        final: dict[str, Any] = {}
        mine = self.mine[name]
        states = [e.data.get("to") for e in mine if e.kind == "relay.state" and e.data.get("to")]
        if states:
            final["relay_state"] = str(states[-1])
        tickets = {e.ticket for e in mine if e.ticket is not None}
        if len(tickets) != 1:
            return final
        ticket: dict[str, Any] = {}
        if name != self.first:
            ticket["for"] = name
        actions = [e.data for e in mine if e.kind == "agent.action"]
        statuses = [str(a["status"]).lower() for a in actions if a.get("action") == "status" and a.get("status")]
        if statuses:
            ticket["status"] = statuses[-1]
        accepted = [str(a["agent"]) for a in actions if a.get("action") == "accept" and a.get("agent")]
        if accepted:
            ticket["assignee"] = accepted[-1]
        transcript = self._transcript(mine)
        if transcript:
            ticket["transcript"] = transcript
        if set(ticket) - {"for"}:
            final["ticket"] = ticket
        return final

    def _transcript_so_far(self, name: str, before: float) -> dict[str, Any]:
        """What the agent saw land on the ticket before the next action (a point the replay waits for).

        Without it, the next action could overtake the relay's posting of the user's last message,
        and SunCo calls that were in order when recorded would race in the replay.
        """
        read = self.read_to.get(name, 0)
        mine = self.mine[name]
        while read < len(mine) and mine[read].seq < before:
            self.transcripts.setdefault(name, _Transcript()).take(mine[read])
            read += 1
        self.read_to[name] = read
        transcript = self.transcripts.get(name)
        if transcript is None or not transcript.has_ticket or not transcript.fresh():
            return {}
        return {"ticket": {**({"for": name} if name != self.first else {}), "transcript": list(transcript.lines)}}

    @staticmethod
    def _transcript(mine: list[Entry]) -> list[dict[str, Any]]:
        """The lines the relay posted in its last handoff."""
        transcript = _Transcript()
        for entry in mine:
            transcript.take(entry)
        return transcript.lines


class _Transcript:
    """The lines the relay posted in a user's current handoff (each handoff starts by creating the user)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.has_ticket = False
        self._shown = 0

    def take(self, entry: Entry) -> None:
        self.has_ticket = self.has_ticket or entry.ticket is not None
        if entry.kind != "sunco.call":
            return
        if _call_is(entry, "POST", "/users"):
            self.lines, self._shown, self.has_ticket = [], 0, False
        elif entry.status is not None and entry.status < 300 and _call_is(entry, "POST", "/messages"):
            body = obj(entry.data.get("request"))
            text = obj(body.get("content")).get("text")
            if isinstance(text, str):
                self.lines.append({"type": str(obj(body.get("author")).get("type", "")), "text": text})

    def fresh(self) -> bool:
        """Whether lines were added since the last time this said yes."""
        fresh = len(self.lines) > self._shown
        self._shown = len(self.lines)
        return fresh


def _unbatched(event: dict[str, Any]) -> list[dict[str, Any]]:
    if short_type(str(event.get("type", ""))) == "EVENT_BATCH":
        return [e for e in (event.get("payload") or {}).get("events", []) if isinstance(e, dict)]
    return [event]


def _match(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a scenario expects it: its type and, when it has one, its text."""
    from simulator.scenarios.actors import event_text  # the same reading of an event the runner uses

    text = event_text(event)
    return {"type": short_type(str(event.get("type", ""))), **({"text": text} if text else {})}
