"""Loading an agent definition file (plain Python) by path, with errors that name the file and line."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from simulator.config import ConfigError
from simulator.widget.agent import Agent

DEFAULT_AGENT_MODULE = "simulator.widget.demo_agent"


class AgentLoadError(ConfigError):
    """The agent file can't be used; the message names the file (and line, when there is one)."""


@dataclass
class LoadedAgent:
    agent: Agent
    source: str  # the file, for logs


def load_agent(path: Path | None = None) -> LoadedAgent:
    """Import the agent file at `path` (the packaged demo when None) and return its `Agent`."""
    if path is None:
        module = importlib.import_module(DEFAULT_AGENT_MODULE)
        return LoadedAgent(_find_agent(module, Path(module.__file__ or DEFAULT_AGENT_MODULE)), DEFAULT_AGENT_MODULE)
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise AgentLoadError(f"agent file {path}: no such file")
    # A stable, unique module name per path, so two agent files named alike don't collide.
    name = f"polyai_agent_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AgentLoadError(f"agent file {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise AgentLoadError(f"agent file {path}, line {exc.lineno}: syntax error: {exc.msg}") from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        line = _line_in(path, exc)
        where = f", line {line}" if line else ""
        raise AgentLoadError(f"agent file {path}{where}: {type(exc).__name__}: {exc}") from exc
    return LoadedAgent(_find_agent(module, path), str(path))


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The deepest line of `path` in the exception's traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path]
    return frames[-1].lineno if frames else None


def _find_agent(module: ModuleType, path: Path) -> Agent:
    """The module's `agent`, or its only `Agent` instance."""
    candidate = getattr(module, "agent", None)
    if not isinstance(candidate, Agent):
        found = [value for value in vars(module).values() if isinstance(value, Agent)]
        if len(found) != 1:
            raise AgentLoadError(
                f"agent file {path}: defines no agent; add `agent = Agent(name=..., greeting=...)` "
                "(from simulator.widget.agent import Agent)"
            )
        candidate = found[0]
    problems = candidate.check()
    if problems:
        raise AgentLoadError(f"agent file {path}: {problems[0]}")
    return candidate
