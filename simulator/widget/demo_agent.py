"""The demo agent: a greeting, a few FAQ topics, and a handoff to a Zendesk agent.

This is the agent the simulator runs when no `--agent` / `POLYAI_AGENT_FILE` is given.
Copy it to start your own (`python -m simulator serve --agent my_agent.py`). Topics are
tried in order, so the handoff comes first: asking for a person always wins.
"""

# mypy: allow-untyped-defs
# (transfer_to_zendesk is written exactly as in PolyAI's Zendesk setup guide, without hints.)

from simulator.widget.agent import Agent, Conversation

agent = Agent(
    name="Demo",
    greeting="Hi! I'm the Demo assistant. Ask me about opening hours, delivery or returns, "
    "or say 'talk to a human' to reach an agent.",
    fallback="Sorry, I didn't catch that. You can ask about opening hours, delivery or returns, "
    "or say 'agent please' to talk to a person.",
    suggestions=["Opening hours", "Delivery", "Talk to a human"],
)


@agent.topic("talk to a human", "speak to an agent", "agent please", "representative", "real person", "agent")
def transfer_to_zendesk(conv):
    return {
        "utterance": "No problem, I'll transfer you to one of our agents now.",
        "handoff": {"text_chat": {"zendesk_integration": {}}},
    }


agent.faq(
    ["opening hours", "when are you open", "are you open", "open today"],
    "We're open 9am to 5pm, Monday to Friday.",
)
agent.faq(
    ["delivery", "shipping", "where is my order", "track my order"],
    "Orders ship within 2 working days and arrive in 3 to 5 days. You'll get a tracking link by email.",
)
agent.faq(
    ["return", "returns", "refund"],
    "You can return anything within 30 days for a full refund. Start a return from your order page.",
)


@agent.topic("my name is", pattern=r"\bi'?m called\b")
def remember_name(conv: Conversation) -> str:
    """Keeps the user's name in `conv.state` (this session) and `conv.memory` (across sessions)."""
    text = (conv.last_user_input or "").lower()
    name = text.split("my name is", 1)[-1].split("called", 1)[-1].strip(" .!").title() or "there"
    conv.state["name"] = name
    conv.memory["name"] = name
    return f"Nice to meet you, {name}!"


agent.faq(["thanks", "thank you", "cheers"], "You're welcome! Anything else?")
