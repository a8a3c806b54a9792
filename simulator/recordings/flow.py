"""Who is who in a trace: the end users (one per webchat session, one per SMS phone) and their entries.

Trace entries carry a widget session id, a SunCo conversation id and a ticket id when known;
entries sharing any of them belong to one conversation. An SMS user keeps their phone number
across sessions (texting again after an ended chat starts a new session), so the phone links
those too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


class Entry(Protocol):
    """What the recordings package reads of a `simulator.trace.TraceEntry`."""

    @property
    def seq(self) -> int: ...
    @property
    def t(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def session(self) -> str | None: ...
    @property
    def conversation(self) -> str | None: ...
    @property
    def ticket(self) -> int | None: ...
    @property
    def status(self) -> int | None: ...
    @property
    def data(self) -> dict[str, Any]: ...


@dataclass
class User:
    """One end user found in a trace."""

    name: str
    channel: Literal["webchat", "sms"]
    key: str  # the webchat session id, or the SMS phone number
    phone: str | None = None
    sessions: list[str] = field(default_factory=list)


class _Links:
    """Union-find over ids: every id on one entry belongs to the same conversation."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self._parent.setdefault(item, item)
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]
            item = self._parent[item]
        return item

    def union(self, items: Iterable[str]) -> str | None:
        items = list(items)
        if not items:
            return None
        root = self.find(items[0])
        for item in items[1:]:
            other = self.find(item)
            if other != root:
                self._parent[other] = root
        return root


CHAT_KINDS = ("widget.in", "widget.out", "sms.out")


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (trace data is read defensively)."""
    return value if isinstance(value, dict) else {}


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def channel_of(entry: Entry) -> str | None:
    """`webchat` or `sms` for chat-side entries, else None."""
    if entry.kind == "sms.out":
        return "sms"
    if entry.kind not in CHAT_KINDS:
        return None
    channel = entry.data.get("channel")
    return str(channel) if channel in ("webchat", "sms") else None


def phone_of(entry: Entry) -> str | None:
    """The end user's phone number on an SMS entry, when it carries one."""
    data = entry.data
    if entry.kind == "sms.out":
        return str(data["to"]) if data.get("to") else None
    if channel_of(entry) != "sms":
        return None
    event = obj(data.get("event"))
    payload = obj(event.get("payload"))
    for source, key in ((data, "from"), (data, "phone"), (event, "from"), (payload, "from"), (payload, "phone")):
        value = source.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _ids(entry: Entry) -> list[str]:
    ids = [f"s:{entry.session}" if entry.session else "", f"c:{entry.conversation}" if entry.conversation else ""]
    ids.append(f"t:{entry.ticket}" if entry.ticket is not None else "")
    phone = phone_of(entry)
    ids.append(f"p:{phone}" if phone else "")
    if entry.kind == "sunco.call":
        ids += _call_links(entry.data)
    return [i for i in ids if i]


def _call_links(data: dict[str, Any]) -> list[str]:
    """The ids a SunCo call ties together before the relay links them on the trace.

    Creating the user and the conversation happens before the relay knows the conversation id;
    their bodies name the widget session (inside the user's externalId), the SunCo user and the
    conversation. Only these keys are read: others (the app, integrations) are shared by everyone.
    """
    found: list[str] = []
    for body in (data.get("request"), data.get("response")):
        if not isinstance(body, dict):
            continue
        user = obj(body.get("user")) or body
        external = str(user.get("externalId") or "")
        found += [f"s:{match}" for match in UUID.findall(external)]
        if isinstance(body.get("user"), dict) and body["user"].get("id"):
            found.append(f"u:{body['user']['id']}")
        conversation = obj(body.get("conversation")) or body
        participants = conversation.get("participants")
        for participant in participants if isinstance(participants, list) else []:
            if isinstance(participant, dict) and participant.get("userId"):
                found.append(f"u:{participant['userId']}")
        if isinstance(body.get("conversation"), dict) and body["conversation"].get("id"):
            found.append(f"c:{body['conversation']['id']}")
    return found


class Participants:
    """The end users of a trace and which entries belong to each.

    `names` maps a webchat session id or an SMS phone to a user name (a replay knows its users);
    without it, users are named `user`, `user2`, ... in order of first appearance.
    """

    def __init__(self, entries: Sequence[Entry], names: dict[str, str] | None = None) -> None:
        self._links = _Links()
        for entry in entries:
            self._links.union(_ids(entry))
        self.users: dict[str, User] = {}
        self._by_root: dict[str, User] = {}
        for entry in entries:
            channel = channel_of(entry)
            if channel is None or not (entry.session or phone_of(entry)):
                continue
            root = self._root(entry)
            if root is None or root in self._by_root:
                self._note_session(self._by_root.get(root or ""), entry)
                continue
            phone = self._phone_in(root, entries) if channel == "sms" else None
            key = phone if phone else str(entry.session)
            if names is not None:
                if key not in names:
                    continue
                name = names[key]
            else:
                name = "user" if not self.users else f"user{len(self.users) + 1}"
            user = next((u for u in self.users.values() if u.key == key), None)
            if user is None:
                user = User(name, "sms" if channel == "sms" else "webchat", key, phone)
                self.users[name] = user
            self._by_root[root] = user
            self._note_session(user, entry)

    def _root(self, entry: Entry) -> str | None:
        ids = _ids(entry)
        return self._links.find(ids[0]) if ids else None

    def _phone_in(self, root: str, entries: Sequence[Entry]) -> str | None:
        for entry in entries:
            phone = phone_of(entry)
            if phone and self._root(entry) == root:
                return phone
        return None

    @staticmethod
    def _note_session(user: User | None, entry: Entry) -> None:
        if user is not None and entry.session and entry.session not in user.sessions:
            user.sessions.append(entry.session)

    def user_of(self, entry: Entry) -> User | None:
        """The end user this entry belongs to, if any (calls made for no conversation belong to none)."""
        root = self._root(entry)
        return self._by_root.get(root) if root is not None else None
