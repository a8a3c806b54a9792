"""The emulator's shortcuts around building `request.url` give exactly what Starlette's URL gives."""

from __future__ import annotations

import random

from starlette.requests import Request

from simulator.zendesk.http import url_path
from simulator.zendesk.paging import base_url

# Plain path characters, those Starlette's URL escapes or cuts off, and a few unusual ones (an ASGI
# path always starts with "/").
ALPHABET = "abcXYZ019-_.~/" + "?#\\\t\r\n" + "%é "


def _request(path: str, host: bytes | None, root_path: str = "") -> Request:
    headers = [] if host is None else [(b"host", host)]
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 8080),
        "root_path": root_path,
        "path": path,
        "query_string": b"page[after]=x",
        "headers": headers,
    }
    return Request(scope)


def test_the_shortcuts_agree_with_starlettes_url_on_random_paths() -> None:
    rng = random.Random(12)
    for _ in range(3000):
        path = "/" * rng.randint(1, 2) + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
        host = rng.choice([None, b"localhost:8080", b"example.zendesk.com"])
        request = _request(path, host, rng.choice(["", "/mounted"]))
        assert url_path(request) == request.url.path, path
        assert base_url(request) == str(request.url.replace(query="")), path
