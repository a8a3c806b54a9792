"""A test agent whose functions go wrong in the ways bot developers' functions do."""

from simulator.widget.agent import Agent, Conversation

agent = Agent(name="Faulty", greeting="Hi, I'm a test bot.", fallback="Say 'crash', 'salesforce' or 'human'.")


@agent.topic("crash")
def look_up_order(conv: Conversation) -> str:
    """Raises, as a function with a bug would."""
    orders: dict[str, str] = {}
    return orders[conv.state["order_id"]]


@agent.topic("salesforce")
def transfer_to_salesforce(conv: Conversation) -> dict[str, object]:
    """Returns a handoff for another integration, which this deployment does not have."""
    return {
        "utterance": "Transferring you now.",
        "handoff": {"text_chat": {"salesforce_integration": {}}},
    }


@agent.topic("human")
def transfer_to_zendesk(conv: Conversation) -> dict[str, object]:
    return {
        "utterance": "No problem, I'll transfer you to one of our agents now.",
        "handoff": {"text_chat": {"zendesk_integration": {"group_id": 360001, "ticket_fields": {"360042": "vip"}}}},
    }
