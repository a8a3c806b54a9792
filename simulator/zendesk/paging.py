"""SunCo cursor paging: `page[after]`, `page[before]` (record ids), `page[size]` (default 25, at most 100)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request

from simulator.zendesk.errors import SuncoError

T = TypeVar("T")
DEFAULT_SIZE = 25
MAX_SIZE = 100


def page_size(request: Request, default: int = DEFAULT_SIZE) -> int:
    """`page[size]` checked as the spec states it: an integer from 1 to 100."""
    raw = request.query_params.get("page[size]")
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise SuncoError(400, f"page[size]: {raw!r} is not an integer") from None
    if not 1 <= size <= MAX_SIZE:
        raise SuncoError(400, f"page[size]: must be between 1 and {MAX_SIZE}")
    return size


def base_url(request: Request) -> str:
    """`str(request.url.replace(query=""))` (what page links start with) without building the URL on
    every request (~15 µs): Starlette's URL makes the scheme-and-host prefix once per scheme, server
    and host, and a plain path is appended to it as Starlette would (one with characters its URL
    escapes, or a leading "//", still goes through it)."""
    scope = request.scope
    path: str = scope["path"]
    if path.startswith("/") and not path.startswith("//") and url_keeps(path):
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        try:
            return _prefix(scope.get("scheme", "http"), scope.get("server"), host, scope.get("root_path", "")) + path
        except TypeError:  # an unhashable part (a server given as a list, say)
            pass
    return str(request.url.replace(query=""))


def url_keeps(path: str) -> bool:
    """Whether Starlette's `request.url` gives the scope's `path` back as it is: only these
    characters are escaped or cut off on the way (so a path without them can skip building the URL)."""
    return not any(c in path for c in _URL_CHANGES)


_URL_CHANGES = ("?", "#", "\\", "\t", "\r", "\n")


@functools.lru_cache(maxsize=64)  # a few schemes and hosts; never one per conversation
def _prefix(scheme: str, server: Any, host: bytes | None, root_path: str) -> str:
    headers = [] if host is None else [(b"host", host)]
    scope = {
        "scheme": scheme,
        "server": server,
        "root_path": root_path,
        "path": "/",
        "query_string": b"",
        "headers": headers,
    }
    return str(URL(scope=scope).replace(query=""))[:-1]  # without the "/" path


def cursors(request: Request) -> tuple[str | None, str | None]:
    """(page[before], page[after]); both at once is a 400."""
    before, after = request.query_params.get("page[before]"), request.query_params.get("page[after]")
    if before is not None and after is not None:
        raise SuncoError(400, "page: page[before] and page[after] are mutually exclusive")
    return before, after


def paginate(
    request: Request, items: Sequence[T], key: Callable[[T], str], default: int = DEFAULT_SIZE
) -> tuple[list[T], dict[str, Any], dict[str, str]]:
    """One page of `items` (oldest first) in the direction asked: (page, meta, links).

    `page[after]` = records after that id, `page[before]` = records before it (the nearest ones);
    neither = the first page. An id that is not in the list is a 400.
    """
    size = page_size(request, default)
    before, after = cursors(request)
    ids = [key(item) for item in items]
    if after is not None:
        if after not in ids:
            raise SuncoError(400, "page[after]: unknown cursor")
        start = ids.index(after) + 1
        end = min(len(ids), start + size)
        more = end < len(ids)
    elif before is not None:
        if before not in ids:
            raise SuncoError(400, "page[before]: unknown cursor")
        end = ids.index(before)
        start = max(0, end - size)
        more = start > 0
    else:
        start, end = 0, min(len(ids), size)
        more = end < len(ids)
    page = list(items[start:end])
    meta: dict[str, Any] = {"hasMore": more}
    links: dict[str, str] = {}
    params = {k: v for k, v in request.query_params.items() if not k.startswith("page[")}
    if "page[size]" in request.query_params:
        params["page[size]"] = request.query_params["page[size]"]
    base = base_url(request)
    if page and start > 0:
        meta["beforeCursor"] = key(page[0])
        links["prev"] = base + "?" + urlencode({**params, "page[before]": key(page[0])})
    if page and end < len(ids):
        meta["afterCursor"] = key(page[-1])
        links["next"] = base + "?" + urlencode({**params, "page[after]": key(page[-1])})
    return page, meta, links
