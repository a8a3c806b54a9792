"""Lists of never-changed items (a conversation's messages) are written by encoding only the new
items; what a reopen finds is still exactly what the lists held, whatever was done to them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from simulator.durable import DB_FILE, GrowingList, StateDB, durable, evict
from simulator.zendesk.models import User


@dataclass
class Log:
    lines: dict[str, list[User]] = durable(immutable_items=True)


def _user(n: int) -> User:
    return User(id=f"u{n}", signed_up_at="2026-01-01T00:00:00Z", external_id=f"ext-{n}")


def _reopened(path: Path) -> dict[str, list[User]]:
    again = StateDB(path / DB_FILE)
    restored = Log()
    again.bind(restored, "log")
    again.close()
    return dict(restored.lines)


def test_appended_removed_and_replaced_items_survive_a_reopen(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    log.lines["a"] = [_user(1)]
    db.commit()
    for n in range(2, 6):
        log.lines["a"].append(_user(n))
        db.commit()
    log.lines["a"].remove(log.lines["a"][1])  # from the middle
    log.lines["a"][0] = _user(9)  # replaced, as the contract asks instead of a change in place
    log.lines["b"] = [_user(7)]
    db.commit()
    expected = {"a": [_user(9), _user(3), _user(4), _user(5)], "b": [_user(7)]}
    assert _reopened(tmp_path) == expected
    # One row per item, each what encoding that item gives; one more item is one more row.
    one = TypeAdapter(User)
    rows = db.db.execute("SELECT data FROM list_items WHERE key = '\"a\"' ORDER BY position").fetchall()
    assert [bytes(r[0]) for r in rows] == [one.dump_json(u) for u in expected["a"]]
    written: list[str] = []
    db.db.set_trace_callback(written.append)
    log.lines["a"].append(_user(6))
    db.commit()
    db.db.set_trace_callback(None)
    assert [w.split(" (")[0] for w in written if w.startswith(("INSERT", "DELETE"))] == ["INSERT INTO list_items"]
    expected["a"].append(_user(6))
    log.lines["a"] = []
    del log.lines["b"]
    db.commit()
    db.close()
    assert _reopened(tmp_path) == {"a": []}


def test_an_evicted_list_comes_back_and_grows_on(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    log.lines["a"] = [_user(1), _user(2)]
    db.commit()
    evict(log.lines, "a")
    db.commit()
    db.commit()  # out of memory at the second commit after `evict`
    assert not dict.__contains__(log.lines, "a")
    log.lines["a"].append(_user(3))  # read back from the file, then grown
    db.commit()
    db.close()
    assert _reopened(tmp_path) == {"a": [_user(1), _user(2), _user(3)]}


def test_only_a_dict_of_lists_can_promise_immutable_items(tmp_path: Path) -> None:
    @dataclass
    class Wrong:
        users: dict[str, User] = durable(immutable_items=True)

    db = StateDB(tmp_path / DB_FILE)
    with pytest.raises(TypeError):
        db.bind(Wrong(), "wrong")
    db.close()


def test_clearing_also_forgets_what_had_left_memory(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    log.lines["a"] = [_user(1)]
    log.lines["b"] = [_user(2)]
    db.commit()
    evict(log.lines, "a")
    db.commit()
    log.lines.clear()
    db.commit()
    assert log.lines.get("a") is None
    db.close()
    assert _reopened(tmp_path) == {}


def test_a_growing_attribute_is_written_whole_and_reads_back(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from simulator.zendesk.ticket import Ticket

    now = datetime(2026, 11, 27, tzinfo=UTC)
    db = StateDB(tmp_path / DB_FILE)
    tickets = db.bind_dict("t.tickets", {}, int, Ticket, growing="transcript")
    tickets[1] = Ticket(1, "c1", 5, "Ana", None, "help", now, now, metadata={"transcript": []})
    db.commit()
    for n in range(3):
        tickets[1].transcript.append({"id": f"m{n}", "text": f"line {n}"})
        db.commit()
    tickets[1].status = "open"  # the rest of the value changes in place as before
    tickets[1].transcript.remove(tickets[1].transcript[1])
    db.commit()
    db.close()
    again = StateDB(tmp_path / DB_FILE)
    restored = again.bind_dict("t.tickets", {}, int, Ticket, growing="transcript")
    assert restored[1].status == "open" and restored[1].metadata == {"transcript": []}
    assert restored[1].transcript == [{"id": "m0", "text": "line 0"}, {"id": "m2", "text": "line 2"}]
    again.close()


def test_a_list_written_whole_by_an_older_version_loads_and_moves_to_rows(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    whole = TypeAdapter(list[User])
    db.write(
        [("INSERT INTO items (collection, key, data) VALUES ('log.lines', '\"a\"', ?)", (whole.dump_json([_user(1)]),))]
    )
    db.close()
    db = StateDB(tmp_path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    assert log.lines == {"a": [_user(1)]}
    log.lines["a"].append(_user(2))
    db.commit()
    assert db.db.execute("SELECT count(*) FROM list_items").fetchone()[0] == 2
    db.close()
    assert _reopened(tmp_path) == {"a": [_user(1), _user(2)]}


def test_each_growing_attribute_writes_only_its_new_items_and_reads_back(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from simulator.zendesk.ticket import Ticket

    now = datetime(2026, 11, 27, tzinfo=UTC)
    db = StateDB(tmp_path / DB_FILE)
    tickets = db.bind_dict("t.tickets", {}, int, Ticket, growing=("transcript", "comments"))
    tickets[1] = Ticket(1, "c1", 5, "Ana", None, "help", now, now)
    db.commit()
    written: list[list[tuple[str, tuple[Any, ...]]]] = []
    write = db.write
    db.write = lambda statements: (written.append(statements), write(statements))[1]  # type: ignore[method-assign]
    for n in range(3):
        tickets[1].comments.append({"body": f"comment {n}"})
        tickets[1].transcript.append({"id": f"m{n}", "text": f"line {n}"})
        db.commit()
    rows = [params for sql, params in written[-1] if sql.startswith("INSERT INTO list_items")]
    assert [(r[0], r[2]) for r in rows] == [("t.tickets", 2), ("t.tickets#comments", 2)]  # one new item each
    assert not [sql for sql, _ in written[-1] if sql.startswith("INSERT INTO items")]  # its own row: unchanged
    (blob,) = db.db.execute("SELECT data FROM items WHERE collection = 't.tickets'").fetchone()
    assert b"comment" not in blob and b"line" not in blob  # the ticket's own row holds neither list
    db.close()
    again = StateDB(tmp_path / DB_FILE)
    restored = again.bind_dict("t.tickets", {}, int, Ticket, growing=("transcript", "comments"))
    assert [c["body"] for c in restored[1].comments] == ["comment 0", "comment 1", "comment 2"]
    assert [t["text"] for t in restored[1].transcript] == ["line 0", "line 1", "line 2"]
    again.close()


def test_comments_written_inside_the_ticket_by_an_older_version_load_and_move_to_rows(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from simulator.zendesk.ticket import Ticket

    now = datetime(2026, 11, 27, tzinfo=UTC)
    db = StateDB(tmp_path / DB_FILE)
    old = db.bind_dict("t.tickets", {}, int, Ticket, growing="transcript")  # comments inside the ticket's row
    old[1] = Ticket(1, "c1", 5, "Ana", None, "help", now, now, comments=[{"body": "old note"}])
    db.commit()
    db.close()
    db = StateDB(tmp_path / DB_FILE)
    tickets = db.bind_dict("t.tickets", {}, int, Ticket, growing=("transcript", "comments"))
    assert tickets[1].comments == [{"body": "old note"}]
    tickets[1].comments.append({"body": "new note"})
    db.commit()
    db.close()
    again = StateDB(tmp_path / DB_FILE)
    restored = again.bind_dict("t.tickets", {}, int, Ticket, growing=("transcript", "comments"))
    assert [c["body"] for c in restored[1].comments] == ["old note", "new note"]
    again.close()


def _statements(db: StateDB, commit: Any) -> list[str]:
    """The writes (INSERT / DELETE, without their values) one commit makes."""
    written: list[str] = []
    db.db.set_trace_callback(written.append)
    commit()
    db.db.set_trace_callback(None)
    return [w.split(" (")[0].split(" WHERE")[0] for w in written if w.startswith(("INSERT", "DELETE"))]


def test_a_growing_list_that_only_grew_is_not_compared_and_one_reshaped_is_rewritten(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    log.lines["a"] = GrowingList([_user(1), _user(2)])
    db.commit()
    written = db._collections[0].lists[0].items["a"]  # what the commit keeps: the list itself, no copy
    assert written == (log.lines["a"], 2)
    log.lines["a"].append(_user(3))
    log.lines["a"] += [_user(4)]
    assert _statements(db, db.commit) == ["INSERT INTO list_items", "INSERT INTO list_items"]
    log.lines["a"].pop(0)  # anything but growing: its rows are written again, from the first
    assert _statements(db, db.commit) == ["DELETE FROM list_items"] + ["INSERT INTO list_items"] * 3
    log.lines["a"].append(_user(5))  # and then it is only growing again
    assert _statements(db, db.commit) == ["INSERT INTO list_items"]
    db.close()
    reopened = _reopened(tmp_path)
    assert reopened == {"a": [_user(2), _user(3), _user(4), _user(5)]}
    assert isinstance(reopened["a"], GrowingList)  # read back as one


def test_a_growing_list_reads_back_as_one_and_grows_on_without_a_comparison(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    log.lines["a"] = [_user(1)]  # a plain list: compared item by item, and read back as a GrowingList
    db.commit()
    db.close()
    again = StateDB(tmp_path / DB_FILE)
    restored = Log()
    again.bind(restored, "log")
    assert isinstance(restored.lines["a"], GrowingList)
    restored.lines["a"].append(_user(2))
    assert _statements(again, again.commit) == ["INSERT INTO list_items"]
    again.close()
    assert _reopened(tmp_path) == {"a": [_user(1), _user(2)]}


_EDITS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "append",
                "extend",
                "set",
                "del",
                "pop",
                "insert",
                "remove",
                "clear",
                "sort",
                "reverse",
                "slice",
                "imul",
                "replace",
                "drop",
                "commit",
            ]
        ),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=_EDITS, growing=st.booleans())
def test_any_edits_to_a_list_survive_a_reopen(
    tmp_path_factory: pytest.TempPathFactory, edits: Any, growing: bool
) -> None:
    path = tmp_path_factory.mktemp("lists")
    db = StateDB(path / DB_FILE)
    log = Log()
    db.bind(log, "log")
    make = GrowingList if growing else list
    log.lines["a"] = make([_user(0)])
    serial = 1
    for edit, n in edits:
        lines = log.lines.get("a")
        if lines is None:
            log.lines["a"] = lines = make()
        if edit == "commit":
            db.commit()
        elif edit == "append":
            lines.append(_user(serial))
        elif edit == "extend":
            lines.extend([_user(serial), _user(serial + 1)])
        elif edit == "set" and lines:
            lines[n % len(lines)] = _user(serial)
        elif edit == "del" and lines:
            del lines[n % len(lines)]
        elif edit == "pop" and lines:
            lines.pop(n % len(lines))
        elif edit == "insert":
            lines.insert(n, _user(serial))
        elif edit == "remove" and lines:
            lines.remove(lines[n % len(lines)])
        elif edit == "clear":
            lines.clear()
        elif edit == "sort":
            lines.sort(key=lambda u: u.id)
        elif edit == "reverse":
            lines.reverse()
        elif edit == "slice":
            lines[n % 3 : n % 5] = [_user(serial)]
        elif edit == "imul":
            lines *= 1 + n % 2
        elif edit == "replace":
            log.lines["a"] = make(lines[: n % 4])
        elif edit == "drop":
            del log.lines["a"]
        serial += 2
    expected = dict(log.lines)
    db.commit()
    db.close()
    assert _reopened(path) == {k: list(v) for k, v in expected.items()}
