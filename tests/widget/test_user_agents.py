"""Agent files written by users: a function that raises, and files that fail to load."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from simulator.clock import VirtualClock
from simulator.config import ConfigError, Settings
from simulator.widget import WidgetServer
from simulator.widget.loader import AgentLoadError, load_agent

from .conftest import Chat, FakeRelay, short

AGENT = """
from simulator.widget.agent import Agent

agent = Agent(name="Buggy", greeting="Hello from Buggy")
agent.faq(["hours"], "Always open")


@agent.topic("crash")
def lookup_order(conv):
    order = conv.state["order_id"]  # not set: KeyError
    return f"Order {order}"


@agent.topic("count")
async def count_items(conv):
    return 3  # not a string: the engine can't say it
"""


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "buggy_agent.py"
    path.write_text(AGENT)
    return path


async def test_a_raising_function_shows_the_developer_a_traceback_and_the_user_an_error(
    chat: Chat, agent_file: Path, widget: WidgetServer, caplog: pytest.LogCaptureFixture
) -> None:
    sock = await chat.connect()
    await sock.next()  # the replay batch
    await sock.send("REQUEST_POLY_AGENT_JOIN")
    joined = await sock.until("POLY_AGENT_MESSAGE")
    assert joined[1]["payload"]["agent_name"] == "Buggy" and joined[-1]["payload"]["text"] == "Hello from Buggy"

    with caplog.at_level(logging.ERROR, logger="simulator.widget"):
        await sock.send("USER_MESSAGE", {"text": "crash please"})
        events = await sock.until("SYSTEM_MESSAGE")
    assert short(events) == ["USER_MESSAGE", "POLY_AGENT_THINKING", "SYSTEM_MESSAGE"]
    assert events[-1]["payload"] == {
        "level": "SYSTEM_MESSAGE_LEVEL_ERROR",
        "message": "Sorry, something went wrong. Please try again.",
    }
    [record] = [r for r in caplog.records if "agent.function_failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert str(agent_file) in record.getMessage() and "function=lookup_order" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    assert "order_id" in caplog.text and "buggy_agent.py" in caplog.text  # the traceback itself

    # The server keeps working.
    await sock.send("USER_MESSAGE", {"text": "hours?"})
    assert (await sock.until("POLY_AGENT_MESSAGE"))[-1]["payload"]["text"] == "Always open"


async def test_an_unusable_return_value_names_the_problem_in_the_log_line(
    chat: Chat, agent_file: Path, widget: WidgetServer, caplog: pytest.LogCaptureFixture
) -> None:
    sock = await chat.connect()
    await sock.next()
    with caplog.at_level(logging.ERROR, logger="simulator.widget"):
        await sock.send("USER_MESSAGE", {"text": "count please"})
        events = await sock.until("SYSTEM_MESSAGE")
    assert events[-1]["payload"]["message"] == "Sorry, something went wrong. Please try again."
    [record] = [r for r in caplog.records if "agent.function_failed" in r.getMessage()]
    message = record.getMessage()
    assert str(agent_file) in message and "function=count_items" in message
    # The why is in the line itself; a traceback into the engine would only mislead.
    assert "returned int" in message and record.exc_info is None


def test_an_import_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("from simulator.widget.agent import Agent\n\nagent = Agent()\nimport not_a_real_module_xyz\n")
    with pytest.raises(AgentLoadError) as caught:
        load_agent(path)
    message = str(caught.value)
    assert str(path) in message and "line 4" in message and "not_a_real_module_xyz" in message
    assert isinstance(caught.value, ConfigError)


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.py"
    path.write_text("agent = Agent(\n\ndef oops(:\n")
    with pytest.raises(AgentLoadError, match=r"typo\.py, line \d+: syntax error"):
        load_agent(path)


def test_missing_file_and_missing_agent(tmp_path: Path) -> None:
    with pytest.raises(AgentLoadError, match="no such file"):
        load_agent(tmp_path / "nope.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(AgentLoadError, match="defines no agent"):
        load_agent(empty)
    useless = tmp_path / "useless.py"
    useless.write_text("from simulator.widget.agent import Agent\nagent = Agent()\nagent.topic('x')\n")
    with pytest.raises(AgentLoadError, match="neither a reply nor an action"):
        load_agent(useless)


async def test_the_widget_refuses_to_start_with_a_broken_agent(
    tmp_path: Path, settings: Settings, clock: VirtualClock
) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(AgentLoadError, match=r"broken\.py, line 1: RuntimeError: boom"):
        WidgetServer(settings, clock, FakeRelay(), agent_file=path)
