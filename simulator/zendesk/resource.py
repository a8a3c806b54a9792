"""What every group of SunCo operations starts from: the conversations, the app's state, the route builder."""

from __future__ import annotations

from simulator.zendesk.conversations import Conversations
from simulator.zendesk.http import SuncoRoutes


class SuncoResource:
    """Base of the route-handler classes, one per group of operations in the spec."""

    def __init__(self, conversations: Conversations, routes: SuncoRoutes) -> None:
        self.conversations = conversations
        self.state = conversations.state
        self.builder = routes
