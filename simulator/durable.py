"""The emulators' and the widget's state on disk: one SQLite file (WAL), written through.

A simulator stands in for services that never forget, so a `kill -9` must lose nothing they
acknowledged. Collections stay plain dicts in memory (reads cost nothing); each write is made
durable at the next `commit()`, which the parts call before they answer (the emulator after
every request, the widget with every event).

Making a collection durable is one line: declare it on a dataclass with `durable()`::

    @dataclass
    class AppState:
        users: dict[str, User] = durable()                  # a dict of models
        switchboard: Switchboard | None = durable(None)     # a single value

`StateDB.bind(obj, "zendesk")` swaps each such dict for a `DurableDict` (loaded from the file
when it has rows) and watches each single value. A `DurableDict` notes every key it hands out
or is given (`d[k]`, `d.get(k)`, `d[k] = v`, iteration, ...), since the caller may change the value
in place; `commit()` re-encodes those entries and writes the ones that changed. `scan()` and
`peek()` read without noting, for read-only loops and lookups on hot paths; nothing is noted
during GET requests. A list that only ever gains items never changed in place (a conversation's
messages: `durable(immutable_items=True)`; a ticket's transcript: `bind_dict(..., growing=)`) is
kept as one row per item, so a new message writes one small row, not the whole list again; made a
`GrowingList`, it also says itself that it only grew, so a commit need not compare it with what
was written (the file reads such lists back as `GrowingList`s).

`StateDB(None)` keeps everything in memory and writes nothing (tests, `serve --ephemeral`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import operator
import sqlite3
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict, TypeAdapter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.config import private_file
from simulator.wal import Checkpointer

# True while a read-only request (GET, HEAD) runs: what it reads is not noted as maybe changed.
_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("durable_reading", default=False)

K = TypeVar("K")
V = TypeVar("V")

DB_FILE = "state.sqlite3"
_DELETE_ITEMS_FROM = "DELETE FROM list_items WHERE collection = ? AND key = ? AND position >= ?"
_UPSERT = (
    "INSERT INTO items (collection, key, data) VALUES (?, ?, ?) "
    "ON CONFLICT (collection, key) DO UPDATE SET data = excluded.data"
)
_DURABLE = "durable"
_NOTHING: frozenset[Any] = frozenset()
_IMMUTABLE_ITEMS = "immutable_items"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    collection TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (collection, key));
CREATE TABLE IF NOT EXISTS list_items (
    collection TEXT NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (collection, key, position));
"""


def durable(default: Any = dataclasses.MISSING, *, immutable_items: bool = False) -> Any:
    """A dataclass field kept in the state file: a dict (no argument) or a single value (its default).

    `immutable_items`: a dict of lists whose items are never changed in place once in a list (the
    lists may grow, shrink or be replaced; an item is changed by putting a new one in its place):
    each item is a row of its own, and a commit writes only the items new since the last one
    (found by identity), not the whole list each time (a conversation's messages, on every message).
    """
    metadata = {_DURABLE: True, _IMMUTABLE_ITEMS: immutable_items}
    if default is dataclasses.MISSING:
        return dataclasses.field(default_factory=dict, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class GrowingList(list[V]):
    """A list that knows whether anything but adding to its end changed it since it was last written.

    Lists of never-changed items (`durable(immutable_items=True)`, `growing=` attributes) are
    written as the items new since the last commit. For a plain list those are found by comparing
    the whole list, item by item, with a copy of what was written (~0.25 ms a commit at 10,000
    messages, and the copy's memory); a `GrowingList` that only gained items since says so itself,
    and nothing is compared or copied. Any other change (`lst[i] = x`, `del`, `pop`, `remove`,
    `insert`, `clear`, `sort`, `reverse`, `*=`) marks it `reshaped`, and the next commit rewrites
    its rows from the first one. The state file reads such lists back as `GrowingList`s.
    """

    __slots__ = ("reshaped",)

    def __init__(self, items: typing.Iterable[V] = ()) -> None:
        super().__init__(items)
        self.reshaped = False

    def __setitem__(self, index: Any, value: Any) -> None:
        self.reshaped = True
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:
        self.reshaped = True
        super().__delitem__(index)

    def __imul__(self, times: typing.SupportsIndex) -> GrowingList[V]:
        self.reshaped = True
        return super().__imul__(times)

    def insert(self, index: typing.SupportsIndex, value: V) -> None:
        self.reshaped = True
        super().insert(index, value)

    def pop(self, index: typing.SupportsIndex = -1) -> V:
        self.reshaped = True
        return super().pop(index)

    def remove(self, value: V) -> None:
        self.reshaped = True
        super().remove(value)

    def clear(self) -> None:
        self.reshaped = True
        super().clear()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self.reshaped = True
        super().sort(*args, **kwargs)

    def reverse(self) -> None:
        self.reshaped = True
        super().reverse()


class DurableDict(dict[K, V], Generic[K, V]):
    """A dict that remembers which entries may have changed since the last commit."""

    def __init__(self, initial: dict[K, V] | None = None) -> None:
        super().__init__(initial or {})
        self.touched: set[K] = set(self)
        # Set when bound to a state file: reads an entry `evict` let go of back in on first use,
        # and `reader` lists every entry the file holds (for listings that include evicted ones).
        self.loader: Callable[[K], V | None] | None = None
        self.reader: Callable[[], Iterator[tuple[K, V]]] | None = None
        # Entries on their way out of memory: `leaving` since the last commit, `waiting` since the
        # one before. An entry goes at the second commit after `evict` unless used in between, so a
        # request still holding it across another request's commit keeps the same object.
        self.leaving: set[K] = set()
        self.waiting: set[K] = set()
        # Keys that left memory (and are in the file): only these are worth a look in the file.
        self.away: set[K] = set()

    def evict(self, key: K) -> None:
        """Let the entry leave memory after the commits that follow (it stays in the state file, and
        comes back when used by key, then leaves again). Without a state file the entry stays."""
        if self.loader is not None:
            self.leaving.add(key)

    def keep(self, key: K) -> None:
        """Keep the entry in memory again (e.g. a finished conversation that came back to life)."""
        self.leaving.discard(key)
        self.waiting.discard(key)

    def every(self) -> dict[K, V]:
        """Every entry, also those that left memory (read from the state file, not kept): for listings."""
        found = dict(super().items())
        if self.reader is not None:
            for key, value in self.reader():
                found.setdefault(key, value)
        return found

    def _load(self, key: K) -> V | None:
        """An entry that left memory, from the state file: kept again unless only read (GET), and
        then on its way out again (only entries of finished conversations leave memory)."""
        if self.loader is None or key not in self.away or super().__contains__(key):
            return None
        value = self.loader(key)
        if value is not None and not _reading.get():
            super().__setitem__(key, value)
            self.away.discard(key)
            self.leaving.add(key)
        return value

    # Every way a value leaves or enters the dict notes its key.
    def __getitem__(self, key: K) -> V:
        loaded = self._load(key)
        if loaded is not None and _reading.get():
            return loaded
        value = super().__getitem__(key)
        if not _reading.get():
            self.touched.add(key)
        return value

    def get(self, key: K, default: Any = None) -> Any:
        loaded = self._load(key)
        if loaded is not None and _reading.get():
            return loaded
        if key in self:
            if not _reading.get():
                self.touched.add(key)
            return super().__getitem__(key)
        return default

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.touched.add(key)
        self.away.discard(key)

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        self.touched.add(key)

    def setdefault(self, key: K, default: Any = None) -> Any:
        self._load(key)
        self.touched.add(key)
        return super().setdefault(key, default)

    def pop(self, key: K, *default: Any) -> Any:
        self._load(key)
        self.touched.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[K, V]:
        key, value = super().popitem()
        self.touched.add(key)
        return key, value

    def clear(self) -> None:
        self.touched.update(self)
        self.touched.update(self.away)  # entries only in the file go too
        self.away.clear()
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        other = dict(*args, **kwargs)
        super().update(other)
        self.touched.update(other)
        self.away.difference_update(other)

    def values(self) -> Iterator[V]:  # type: ignore[override]
        if _reading.get():
            return iter(super().values())
        return self._noting_values()

    def items(self) -> Iterator[tuple[K, V]]:  # type: ignore[override]
        if _reading.get():
            return iter(super().items())
        return self._noting_items()

    def _noting_values(self) -> Iterator[V]:
        for key, value in super().items():
            self.touched.add(key)
            yield value

    def _noting_items(self) -> Iterator[tuple[K, V]]:
        for key, value in super().items():
            self.touched.add(key)
            yield key, value

    def scan(self) -> Iterator[V]:
        """The values, without noting them: for loops that only read."""
        return iter(super().values())

    def scan_items(self) -> Iterator[tuple[K, V]]:
        """The entries, without noting them: for loops that only read."""
        return iter(super().items())

    def peek(self, key: K, default: Any = None) -> Any:
        """An entry, without noting it (nor keeping one that had left memory): for lookups that only read."""
        if super().__contains__(key):
            return super().__getitem__(key)
        loaded = self.loader(key) if self.loader is not None and key in self.away else None
        return default if loaded is None else loaded


def _adapter(value_type: Any) -> TypeAdapter[Any]:
    """The value's JSON encoding; raw bytes (uploads) as base64.

    One per type per process: building a TypeAdapter compiles a schema (milliseconds each), and
    every simulator (a replay makes one per scenario) binds the same few dozen types.
    """
    return _once(_ADAPTERS, value_type, _new_adapter)


def _plain_adapter(hint: Any) -> TypeAdapter[Any]:
    """A key's or a single value's encoding (bytes as pydantic's default), once per type per process."""
    return _once(_PLAIN_ADAPTERS, hint, TypeAdapter)


def _once(cache: dict[Any, TypeAdapter[Any]], hint: Any, build: Callable[[Any], TypeAdapter[Any]]) -> TypeAdapter[Any]:
    try:
        return cache[hint]
    except KeyError:
        pass
    except TypeError:  # an unhashable type hint: build it every time
        return build(hint)
    adapter = cache[hint] = build(hint)
    return adapter


def _new_adapter(value_type: Any) -> TypeAdapter[Any]:
    if value_type is bytes:
        return TypeAdapter(bytes, config=ConfigDict(ser_json_bytes="base64", val_json_bytes="base64"))
    return TypeAdapter(value_type)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_PLAIN_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(owner_type: type) -> dict[str, Any]:
    """A dataclass's resolved field types, once per class (resolving re-evaluates every annotation)."""
    if owner_type not in _HINTS:
        _HINTS[owner_type] = typing.get_type_hints(owner_type)
    return _HINTS[owner_type]


def evict(data: dict[K, V], key: K) -> None:
    """Let a (maybe durable) dict's entry leave memory after the next commits (see `DurableDict.evict`)."""
    if isinstance(data, DurableDict):
        data.evict(key)


def keep(data: dict[K, V], key: K) -> None:
    """Keep a (maybe durable) dict's entry in memory again (see `DurableDict.keep`)."""
    if isinstance(data, DurableDict):
        data.keep(key)


def every(data: dict[K, V]) -> dict[K, V]:
    """Every entry of a (maybe durable) dict, also those that left memory: for listings (see `DurableDict.every`)."""
    return data.every() if isinstance(data, DurableDict) else dict(data)


def scan(data: dict[K, V]) -> Iterator[V]:
    """Iterate a (maybe durable) dict's values without noting them: for loops that only read."""
    return data.scan() if isinstance(data, DurableDict) else iter(data.values())


def scan_items(data: dict[K, V]) -> Iterator[tuple[K, V]]:
    """Iterate a (maybe durable) dict's entries without noting them: for loops that only read."""
    return data.scan_items() if isinstance(data, DurableDict) else iter(data.items())


def peek(data: dict[K, V], key: K, default: Any = None) -> Any:
    """Look an entry of a (maybe durable) dict up without noting it: for lookups that only read."""
    return data.peek(key, default) if isinstance(data, DurableDict) else data.get(key, default)


class _Collection:
    """One durable dict's encoding and the digest of what the file holds for each key."""

    def __init__(
        self,
        name: str,
        data: DurableDict[Any, Any],
        adapter: TypeAdapter[Any],
        key: TypeAdapter[Any],
        scrub: Callable[[Any], Any] | None = None,
        lists: list[_ItemRows] | None = None,
    ) -> None:
        self.name = name
        self.scrub = scrub
        self.data = data
        self.adapter = adapter
        self.key = key
        self.written: dict[Any, bytes] = {}
        self.used: set[Any] | frozenset[Any] = set()  # the keys used since the commit before the last one
        # With immutable list items (the value itself, or its `growing` attributes): each list's
        # items are rows of `list_items`, one per position, and the entry's own row holds the rest
        # (`[]` for a plain list).
        self.lists = [] if scrub is not None else (lists or [])
        self.growing = {rows.attribute for rows in self.lists if rows.attribute is not None}

    def evict(self) -> None:
        """After a commit: entries marked to leave memory at the commit before go, unless used since."""
        data = self.data
        waiting, data.waiting, data.leaving = data.waiting, data.leaving, set()
        for key in waiting:
            if key in self.written and key not in self.used and dict.__contains__(data, key):
                dict.__delitem__(data, key)
                data.away.add(key)
                for rows in self.lists:
                    rows.items.pop(key, None)
            elif key in self.used:
                data.waiting.add(key)  # in use: it goes once a commit passes without it being used

    def changes(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The statements that write every entry noted since the last commit that changed."""
        touched = self.data.touched
        if not touched:  # most collections, at most commits: nothing to look at
            self.used = _NOTHING
            return []
        out: list[tuple[str, tuple[Any, ...]]] = []
        self.data.touched = set()
        self.used = touched
        for key in touched:
            if dict.__contains__(self.data, key):
                value = dict.__getitem__(self.data, key)
                text: str | None = None
                for rows in self.lists:
                    items = rows.list_of(value)
                    if items is not None:
                        text = text or self.key.dump_json(key).decode()
                        out += rows.changes(key, text, items)
                if self.lists and not self.growing:
                    blob = b"[]"  # the value is the list: all of it is in rows
                elif self.growing:
                    blob = self.adapter.dump_json(value, exclude=self.growing)
                else:
                    blob = self.adapter.dump_json(self.scrub(value) if self.scrub else value)
                digest = hashlib.blake2b(blob, digest_size=16).digest()
                if self.written.get(key) == digest:
                    continue
                self.written[key] = digest
                out.append((_UPSERT, (self.name, self.key.dump_json(key).decode(), blob)))
            elif self.written.pop(key, None) is not None:
                name, text = self.name, self.key.dump_json(key).decode()
                out.append(("DELETE FROM items WHERE collection = ? AND key = ?", (name, text)))
                for rows in self.lists:
                    rows.items.pop(key, None)
                    out.append(("DELETE FROM list_items WHERE collection = ? AND key = ?", (rows.name, text)))
        return out


class _Written(typing.NamedTuple):
    """A `GrowingList` as last written: the list itself and how many items it had then."""

    items: GrowingList[Any]
    length: int


class _ItemRows:
    """One list of each entry of a collection kept as rows of `list_items` (one per item, under
    `name`): the entry itself (`attribute` None), or one of its list attributes. `items` is each
    key's list as last written: a copy of a plain list, to find the new items by identity; a
    `GrowingList` itself and its length then, as it notes any change but growing."""

    def __init__(self, name: str, attribute: str | None, item: TypeAdapter[Any]) -> None:
        self.name = name
        self.attribute = attribute
        self.item = item
        self.items: dict[Any, list[Any] | _Written] = {}

    def list_of(self, value: Any) -> list[Any] | None:
        """The entry's list (None when it has none)."""
        items = value if self.attribute is None else getattr(value, self.attribute, None)
        return items if isinstance(items, list) else None

    def remember(self, key: Any, items: list[Any]) -> None:
        """`items` is what the file holds for `key` now."""
        if isinstance(items, GrowingList):
            items.reshaped = False
            self.items[key] = _Written(items, len(items))
        else:
            self.items[key] = list(items)

    def changes(self, key: Any, text: str, items: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
        """Rows for the items after the longest run the list shares, item for item (by identity),
        with what was written last time; rows past it go first."""
        before = self.items.get(key)
        if isinstance(before, _Written):
            # The same list, only grown since (it says so): the written items are still its first ones.
            grown = before.items is items and not before.items.reshaped
            same, known = (before.length, before.length) if grown else (0, None)
        elif before is not None and all(map(operator.is_, before, items)):
            same, known = min(len(before), len(items)), len(before)  # the usual case, compared in C
        else:
            same, known = 0, None if before is None else len(before)
            for old, new in zip(before or (), items, strict=False):
                if old is not new:
                    break
                same += 1
        out: list[tuple[str, tuple[Any, ...]]] = []
        if known is None or same < known:  # unknown (never written from here, or reshaped), or shortened
            out.append((_DELETE_ITEMS_FROM, (self.name, text, same)))
        for position in range(same, len(items)):
            row = (self.name, text, position, self.item.dump_json(items[position]))
            out.append(("INSERT INTO list_items (collection, key, position, data) VALUES (?, ?, ?, ?)", row))
        self.remember(key, items)
        return out


def _growing(lists: list[_ItemRows], value: Any) -> Any:
    """`value` as read from the file, its lists of rows made `GrowingList`s (the entry itself, or
    its list attributes)."""
    for rows in lists:
        items = rows.list_of(value)
        if items is None or isinstance(items, GrowingList):
            continue
        if rows.attribute is None:
            value = GrowingList(items)
        else:
            setattr(value, rows.attribute, GrowingList(items))
    return value


class _Single:
    """One durable single value, re-encoded at each commit (these are small)."""

    def __init__(self, name: str, owner: Any, attribute: str, adapter: TypeAdapter[Any]) -> None:
        self.name = name
        self.owner = owner
        self.attribute = attribute
        self.adapter = adapter
        self.written: bytes | None = None

    def changes(self) -> list[tuple[str, tuple[Any, ...]]]:
        blob = self.adapter.dump_json(getattr(self.owner, self.attribute))
        if blob == self.written:
            return []
        self.written = blob
        return [(_UPSERT, (self.name, "", blob))]


class StateDB:
    """The state file (or nothing, for memory only) and every collection bound to it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        # The bound parts by kind: a commit looks only at the collections with noted entries (a few
        # of some twenty, per request), and re-checks the (few, small) single values.
        self._collections: list[_Collection] = []
        self._singles: list[_Single] = []
        if path is not None:
            private_file(path)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            # WAL + NORMAL: a commit is in the OS before the answer goes out, so a killed process
            # loses nothing (only a power cut could lose the last commits).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            # The checkpoint (the only fsync) on a thread of its own, never in a request: left to
            # SQLite it ran inside every ~200th commit and took 5-25 ms there.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer: Checkpointer | None = Checkpointer(path, "state-sqlite-checkpoint")
        else:
            self._checkpointer = None

    @property
    def persistent(self) -> bool:
        return self._db is not None

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for parts with their own tables (check `persistent` first)."""
        if self._db is None:
            raise RuntimeError("this state is in memory only")
        return self._db

    def bind(self, owner: Any, prefix: str, *, scrub: dict[str, Callable[[Any], Any]] | None = None) -> list[str]:
        """Make `owner`'s `durable()` fields durable under `prefix`; returns the names loaded from the file.

        A collection with rows in the file is replaced by them; one without keeps its current
        (seeded) value, which is written at the next commit. `scrub[field]` maps a value to what
        is written for it (e.g. without a secret the settings supply again on load).
        """
        hints = _type_hints(type(owner))
        loaded: list[str] = []
        for spec in dataclasses.fields(owner):
            if not spec.metadata.get(_DURABLE):
                continue
            clean = (scrub or {}).get(spec.name)
            name = f"{prefix}.{spec.name}"
            hint = hints[spec.name]
            if typing.get_origin(hint) is dict:
                key_type, value_type = typing.get_args(hint)
                immutable = bool(spec.metadata.get(_IMMUTABLE_ITEMS))
                loaded += self._bind_dict(owner, spec.name, name, key_type, value_type, clean, immutable)
            else:
                loaded += self._bind_single(owner, spec.name, name, hint)
        return loaded

    def bind_dict(
        self,
        name: str,
        current: dict[K, V],
        key_type: Any,
        value_type: Any,
        *,
        growing: str | tuple[str, ...] | None = None,
    ) -> DurableDict[K, V]:
        """A durable dict outside a dataclass (e.g. the agent workspace's tickets).

        `growing`: the names of list attributes of each value whose items are never changed in place
        once in them (a ticket's transcript and comments): their items are rows of their own, as with
        `durable(immutable_items=True)`, and the value's own row holds the rest. The first list's rows
        are under the collection's name, each further one's under `name#attribute`.
        """
        holder = _Holder(current)
        self._bind_dict(holder, "value", name, key_type, value_type, growing=growing)
        result: DurableDict[K, V] = holder.value
        return result

    def _bind_dict(
        self,
        owner: Any,
        attribute: str,
        name: str,
        key_type: Any,
        value_type: Any,
        scrub: Callable[[Any], Any] | None = None,
        immutable_items: bool = False,
        growing: str | tuple[str, ...] | None = None,
    ) -> list[str]:
        adapter, keys = _adapter(value_type), _plain_adapter(key_type)
        lists: list[_ItemRows] = []
        if immutable_items:
            if typing.get_origin(value_type) is not list:
                raise TypeError(f"{name}: immutable_items needs a dict of lists")
            lists.append(_ItemRows(name, None, _adapter(typing.get_args(value_type)[0])))
        for index, field_name in enumerate((growing,) if isinstance(growing, str) else growing or ()):
            hint = _type_hints(value_type).get(field_name)
            if typing.get_origin(hint) is not list:
                raise TypeError(f"{name}: {field_name} is not a list attribute of {value_type}")
            rows_name = name if index == 0 else f"{name}#{field_name}"  # the first: as before there were more
            lists.append(_ItemRows(rows_name, field_name, _adapter(typing.get_args(hint)[0])))
        rows = self._rows(name)
        data: DurableDict[Any, Any]
        if rows:
            data = DurableDict({keys.validate_json(k): _growing(lists, adapter.validate_json(v)) for k, v in rows})
        else:
            data = DurableDict(getattr(owner, attribute))
        setattr(owner, attribute, data)
        collection = _Collection(name, data, adapter, keys, scrub, lists)
        if collection.lists and rows:
            self._attach_items(collection, None)
        if self._db is not None:
            data.loader = lambda key: self._load_one(collection, key)
            data.reader = lambda: self._read_all(collection)
        for key, value in rows:
            collection.written[keys.validate_json(key)] = hashlib.blake2b(value, digest_size=16).digest()
        collection.data.touched -= set(collection.written)
        self._collections.append(collection)
        return [name] if rows else []

    def _bind_single(self, owner: Any, attribute: str, name: str, hint: Any) -> list[str]:
        adapter = _plain_adapter(hint)
        rows = self._rows(name)
        single = _Single(name, owner, attribute, adapter)
        if rows:
            setattr(owner, attribute, adapter.validate_json(rows[0][1]))
            single.written = rows[0][1]
        self._singles.append(single)
        return [name] if rows else []

    def _load_one(self, collection: _Collection, key: Any, *, keep: bool | None = None) -> Any:
        """One entry from the file (None when it has none); `keep` False (default: unless a GET
        runs) for a copy that will not be kept in memory."""
        if keep is None:
            keep = not _reading.get()
        if self._db is None:
            return None
        text = collection.key.dump_json(key).decode()
        row = self._db.execute(
            "SELECT data FROM items WHERE collection = ? AND key = ?", (collection.name, text)
        ).fetchone()
        if row is None:
            return None
        value = _growing(collection.lists, collection.adapter.validate_json(row[0]))
        if collection.lists:
            known = [rows.items.get(key) for rows in collection.lists]
            self._attach_items(collection, {key: value})
            if not keep:  # a read-only copy: what the file is known to hold stays as it was
                for rows, before in zip(collection.lists, known, strict=True):
                    if before is None:
                        rows.items.pop(key, None)
                    else:
                        rows.items[key] = before
        return value

    def _read_all(self, collection: _Collection) -> Iterator[tuple[Any, Any]]:
        """Every entry of a collection that is only in the file (not in memory), oldest first, each
        read as `_load_one` reads it (a read-only copy)."""
        if self._db is None:
            return
        rows = self._db.execute(
            "SELECT key FROM items WHERE collection = ? ORDER BY rowid", (collection.name,)
        ).fetchall()
        for (raw_key,) in rows:
            key = collection.key.validate_json(raw_key)
            if not dict.__contains__(collection.data, key):
                value = self._load_one(collection, key, keep=False)
                if value is not None:
                    yield key, value

    def _attach_items(self, collection: _Collection, only: dict[Any, Any] | None) -> None:
        """Put each entry's list items (rows of `list_items`) back into its list, in order; `only`:
        these entries (else every entry in memory). An entry whose row still holds its whole list
        (written by an older version) has no item rows: it is rewritten as rows when next changed."""
        assert self._db is not None
        entries = only if only is not None else dict(dict.items(collection.data))
        for rows in collection.lists:
            if only is None:
                cursor = self._db.execute(
                    "SELECT key, data FROM list_items WHERE collection = ? ORDER BY key, position", (rows.name,)
                )
            else:
                (key,) = only
                cursor = self._db.execute(
                    "SELECT key, data FROM list_items WHERE collection = ? AND key = ? ORDER BY position",
                    (rows.name, collection.key.dump_json(key).decode()),
                )
            found: set[Any] = set()
            for text, data in cursor.fetchall():
                key = collection.key.validate_json(text)
                items = rows.list_of(entries[key]) if key in entries else None
                if items is not None:
                    items.append(rows.item.validate_json(data))
                    found.add(key)
            for key, value in entries.items():
                items = rows.list_of(value)
                if items is not None and (key in found or not items):  # as written: only new items get rows
                    rows.remember(key, items)

    def _rows(self, name: str) -> list[tuple[str, bytes]]:
        if self._db is None:
            return []
        cursor = self._db.execute("SELECT key, data FROM items WHERE collection = ? ORDER BY rowid", (name,))
        return [(str(key), bytes(data)) for key, data in cursor.fetchall()]

    def commit(self) -> None:
        """Write every change since the last commit, in one transaction."""
        if self._db is None:
            for collection in self._collections:
                if collection.data.touched:
                    collection.data.touched.clear()
            return
        changes: list[tuple[str, tuple[Any, ...]]] = []
        for collection in self._collections:
            if collection.data.touched:
                changes += collection.changes()
            elif collection.used:  # nothing noted since: what `changes()` would have found
                collection.used = _NOTHING
        for single in self._singles:
            changes += single.changes()
        if changes:
            self.write(changes)
        for collection in self._collections:
            data = collection.data
            if data.leaving or data.waiting:  # else `evict()` has nothing to do
                collection.evict()

    def write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run statements in one transaction (parts with their own tables); nothing in memory-only mode."""
        if self._db is None or not statements:
            return
        db = self._db
        db.execute("BEGIN")
        try:
            for sql, params in statements:
                db.execute(sql, params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._db is not None:
            self._db.close()
            self._db = None


class _Holder:
    def __init__(self, value: Any) -> None:
        self.value = value


def committing(app: ASGIApp, commit: Callable[[], None]) -> ASGIApp:
    """Wrap a route's ASGI app so what a request changed is committed before its answer starts."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD"):
            token = _reading.set(True)  # reads change nothing: nothing to re-check at the next commit
            try:
                await app(scope, receive, send)
            finally:
                _reading.reset(token)
            return

        async def send_after_commit(message: Message) -> None:
            if message["type"] == "http.response.start":
                commit()
            await send(message)

        await app(scope, receive, send_after_commit)

    return wrapped
