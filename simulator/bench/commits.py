"""What one more message costs the state file's commit as a conversation grows.

`python -m simulator.bench.commits [--sizes 200,10000,30000] [--count N]` appends N messages, one
commit each, to a conversation already holding each size of messages, kept as the emulator keeps it
(a `GrowingList`) and as a plain list (whose new items a commit finds by comparing the whole list
with a copy of what it wrote), and prints the CPU per append and commit of each, side by side.
30,000 is SunCo's limit of messages in a conversation.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.durable import DB_FILE, GrowingList, StateDB, durable
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import Author, Content, Message, Source
from simulator.zendesk.state import MESSAGE_LIMIT


@dataclass
class _Conversations:
    messages: dict[str, list[Message]] = durable(immutable_items=True)


def _message(n: int) -> Message:
    return Message(
        id=new_id(),
        received="2026-11-28T00:00:00.000Z",
        author=Author(type="business"),
        content=Content(type="text", text=f"message {n}"),
        source=Source(type="api:conversations"),
    )


def per_commit_us(size: int, count: int, make: Callable[[Iterable[Message]], list[Message]]) -> float:
    """Microseconds of CPU for each of `count` appends (one commit each) to a list of `size` messages."""
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as folder:
        db = StateDB(Path(folder) / DB_FILE)
        state = _Conversations()
        db.bind(state, "zendesk")
        state.messages["c"] = make(_message(n) for n in range(size))
        db.commit()
        extra = [_message(size + n) for n in range(count)]
        started = time.thread_time()
        for message in extra:
            state.messages["c"].append(message)
            db.commit()
        spent = time.thread_time() - started
        db.close()
    return spent / count * 1e6


def table(sizes: list[int], count: int) -> str:
    """Each size's CPU per append and commit, as a GrowingList and as a plain list."""
    lines = [
        "| messages in the conversation | GrowingList (the emulator's) | plain list | ratio |",
        "| --- | --- | --- | --- |",
    ]
    plain: Callable[[Iterable[Any]], list[Any]] = list
    for size in sizes:
        growing, compared = per_commit_us(size, count, GrowingList), per_commit_us(size, count, plain)
        lines.append(f"| {size:,} | {growing:.0f} µs | {compared:.0f} µs | {compared / growing:.1f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.bench.commits", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=f"200,10000,{MESSAGE_LIMIT}", help="messages already held, comma-separated")
    parser.add_argument("--count", type=int, default=300, help="appends (one commit each) measured per size")
    args = parser.parse_args(argv)
    print(table([int(size) for size in args.sizes.split(",")], args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
