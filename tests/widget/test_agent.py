"""The agent-file API and the bot engine: topics, functions, the Conversation object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.widget.agent import Agent, Conversation
from simulator.widget.bot import Bot
from simulator.widget.loader import LoadedAgent, load_agent

ROOT = Path(__file__).resolve().parents[2]


def bot_for(agent: Agent, clock: VirtualClock) -> Bot:
    return Bot(LoadedAgent(agent, "test"), clock, "PROJECT-test")


@pytest.mark.parametrize(
    "text",
    ["talk to a human", "Can I SPEAK TO AN AGENT?", "agent, please!", "I want a representative", "Agent please"],
)
def test_demo_hands_off_when_asked_for_a_person(text: str) -> None:
    topic = load_agent().agent.match(text)
    assert topic is not None and topic.label == "transfer_to_zendesk"


def test_phrases_match_whole_words_only() -> None:
    agent = Agent()
    agent.faq(["hi"], "Hello")
    assert agent.match("hi!") is not None and agent.match("Hi there") is not None
    assert agent.match("which one") is None and agent.match("this") is None


def test_patterns_and_declaration_order() -> None:
    agent = Agent()
    first = agent.topic(pattern=r"order\s*#?\d+", reply="Looking up your order")
    agent.faq("order", "Orders ship in 2 days")
    assert agent.match("Where is ORDER #123?") is first
    assert agent.match("an order") is not first


async def test_functions_get_the_conversation_and_can_return_str_dict_or_none(clock: VirtualClock) -> None:
    agent = Agent(greeting="Hey")
    calls: list[Conversation] = []

    @agent.topic("count")
    def count(conv: Conversation) -> str:
        calls.append(conv)
        conv.state["n"] = conv.state.get("n", 0) + 1
        conv.memory["seen"] = True
        return f"count {conv.state['n']}"

    @agent.topic("utter")
    def utter(conv: Conversation) -> dict[str, Any]:
        return {"utterance": "uttered"}

    @agent.topic("quiet", reply="the topic's reply")
    def quiet(conv: Conversation) -> None:
        return None

    @agent.topic("later")
    async def later(conv: Conversation) -> str:
        return "async works"

    bot = bot_for(agent, clock)
    conv = bot.new_conversation("s1", "webchat.polyai", "ana@example.test")
    assert bot.greet(conv).text == "Hey"
    assert (await bot.respond(conv, "count")).text == "count 1"
    assert (await bot.respond(conv, "count again")).text == "count 2"
    assert (await bot.respond(conv, "utter")).text == "uttered"
    assert (await bot.respond(conv, "quiet")).text == "the topic's reply"
    assert (await bot.respond(conv, "later")).text == "async works"
    fallback = await bot.respond(conv, "gibberish")
    assert fallback.text == agent.fallback and fallback.topic is None
    seen = calls[0]
    assert (seen.id, seen.project_id, seen.env, seen.channel_type, seen.caller_number) == (
        "s1",
        "PROJECT-test",
        "sandbox",
        "webchat.polyai",
        "ana@example.test",
    )
    assert [(t.speaker, t.text) for t in conv.history[:3]] == [("bot", "Hey"), ("user", "count"), ("bot", "count 1")]
    assert conv.history[0].timestamp == clock.now()
    # Memory is kept per caller across sessions; state is not.
    again = bot.new_conversation("s2", "webchat.polyai", "ana@example.test")
    assert again.memory == {"seen": True} and again.state == {}


async def test_handoff_payload_is_passed_through_exactly(clock: VirtualClock) -> None:
    payload = {"utterance": "Transferring", "handoff": {"text_chat": {"zendesk_integration": {"group": "vip"}}}}
    agent = Agent()
    agent.topic("vip", action=lambda conv: payload)
    reply = await bot_for(agent, clock).respond(Conversation("s", "p", "sms", "+1555"), "vip")
    assert reply.text == "Transferring" and reply.handoff is payload


async def test_unusable_return_value_is_an_agent_error(clock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    agent = Agent()

    @agent.topic("bad")
    def bad(conv: Conversation) -> int:
        return 42

    reply = await bot_for(agent, clock).respond(Conversation("s", "p", "sms", None), "bad")
    assert reply.failed and reply.text is None
    assert "function=bad" in caplog.text and "returned int" in caplog.text


def test_a_topic_needs_a_trigger() -> None:
    with pytest.raises(ValueError):
        Agent().topic()


def test_the_demo_loads_by_default_and_from_agents_folder() -> None:
    default = load_agent()
    assert default.agent.name == "Demo" and "transfer_to_zendesk" in default.agent.functions
    from_file = load_agent(ROOT / "agents" / "demo.py")
    assert from_file.agent is default.agent  # one definition, two ways in


async def test_a_dict_with_neither_utterance_nor_handoff_is_an_agent_error(
    clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # A typo such as {"text": ...} must not make the bot silently say nothing.
    agent = Agent()

    @agent.topic("typo")
    async def typo(conv: Conversation) -> dict[str, Any]:
        return {"text": "hello"}

    reply = await bot_for(agent, clock).respond(Conversation("s", "p", "sms", None), "typo")
    assert reply.failed and reply.text is None
    assert "function=typo" in caplog.text and "'utterance'" in caplog.text
