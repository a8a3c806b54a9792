"""Each route's path compiled once per process, not once per simulator.

Starlette turns a route's path into a regex (and its parameters' converters) when the route is
made. Every simulator makes its ~100 routes afresh (their endpoints are its own bound methods),
and a scenario replay makes one simulator per scenario: compiling the same paths again was about
a third of building one. `starlette.routing.compile_path` is a pure function of the path and what
it returns is never changed, so remembering it is safe.
"""

from __future__ import annotations

import functools

from starlette import routing


def remember_compiled_paths() -> None:
    """Make starlette's `compile_path` remember its answers (idempotent)."""
    if not hasattr(routing.compile_path, "cache_info"):
        setattr(routing, "compile_path", functools.cache(routing.compile_path))  # noqa: B010 (a module's function)
