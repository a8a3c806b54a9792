"""Switchboard control: passControl, offerControl, acceptControl, releaseControl, and their events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from simulator.zendesk.errors import SuncoError
from simulator.zendesk.events import EventBus, switchboard_payload
from simulator.zendesk.models import Conversation, Metadata, SwitchboardIntegration
from simulator.zendesk.state import AppState

# Called when control reaches an integration (the agent workspace opens a ticket this way).
ControlListener = Callable[[Conversation, SwitchboardIntegration, Metadata], Awaitable[None]]


class SwitchboardControl:
    """Moves control of a conversation between switchboard integrations, as SunCo does."""

    def __init__(self, state: AppState, bus: EventBus) -> None:
        self.state = state
        self.bus = bus
        self.on_control: list[ControlListener] = []

    def resolve(self, conversation: Conversation, target: str) -> SwitchboardIntegration | None:
        """A target given as id, name, or `next` (the active integration's next)."""
        if target == "next":
            active = conversation.active_switchboard_integration
            current = self.state.switchboard_integrations.get(active.id) if active else None
            if current is None or not current.next_switchboard_integration_id:
                return None
            return self.state.switchboard_integrations.get(current.next_switchboard_integration_id)
        return self.state.find_switchboard_integration(target)

    def _require_enabled(self) -> None:
        if not self.state.switchboard or not self.state.switchboard.enabled:
            raise SuncoError(400, "switchboard: the app has no enabled switchboard")

    def _fail(self, conversation: Conversation, action: str, metadata: Metadata | None, message: str) -> SuncoError:
        """Emit `switchboard:<action>:failure` and build the 400 to answer the caller with."""
        error = {"code": "switchboard_invalid_target", "message": message}
        self.bus.emit(
            conversation, f"switchboard:{action}:failure", switchboard_payload(conversation, metadata, error=error)
        )
        return SuncoError(400, f"switchboardIntegration: {message}")

    async def pass_control(
        self, conversation: Conversation, target: str, metadata: Metadata | None, reason: str | None = None
    ) -> SwitchboardIntegration:
        """Make `target` active and clear any pending offer; notify listeners and webhooks."""
        self._require_enabled()
        chosen = self.resolve(conversation, target)
        if chosen is None:
            raise self._fail(conversation, "passControl", metadata, f"no switchboard integration {target!r}")
        previous = self._current(conversation)
        already = conversation.active_switchboard_integration
        if target == "next" and already is not None and already.id == chosen.id:
            return chosen  # duplicate `next` calls are ignored, as SunCo documents
        conversation.active_switchboard_integration = chosen.ref()
        conversation.pending_switchboard_integration = None
        self.bus.emit(
            conversation,
            "switchboard:passControl",
            switchboard_payload(conversation, metadata, reason=reason),
            also=[previous] if previous else None,
        )
        for listener in self.on_control:
            await listener(conversation, chosen, metadata or {})
        return chosen

    async def offer_control(self, conversation: Conversation, target: str, metadata: Metadata | None) -> None:
        """Set `target` as pending; it hears the conversation until it accepts."""
        self._require_enabled()
        chosen = self.resolve(conversation, target)
        if chosen is None:
            raise self._fail(conversation, "offerControl", metadata, f"no switchboard integration {target!r}")
        conversation.pending_switchboard_integration = chosen.ref()
        self.bus.emit(conversation, "switchboard:offerControl", switchboard_payload(conversation, metadata))

    async def accept_control(self, conversation: Conversation, metadata: Metadata | None) -> None:
        """The pending integration becomes active."""
        self._require_enabled()
        pending = conversation.pending_switchboard_integration
        if pending is None:
            error = {"code": "switchboard_invalid_action", "message": "no pending switchboard integration"}
            self.bus.emit(
                conversation,
                "switchboard:acceptControl:failure",
                switchboard_payload(conversation, metadata, error=error),
            )
            raise SuncoError(400, "conversation: there is no pending switchboard integration to accept control")
        previous = self._current(conversation)
        conversation.active_switchboard_integration = pending
        conversation.pending_switchboard_integration = None
        self.bus.emit(
            conversation,
            "switchboard:acceptControl",
            switchboard_payload(conversation, metadata),
            also=[previous] if previous else None,
        )
        chosen = self.state.switchboard_integrations.get(pending.id)
        if chosen:
            for listener in self.on_control:
                await listener(conversation, chosen, metadata or {})

    async def release_control(
        self, conversation: Conversation, metadata: Metadata | None, reason: str | None = None
    ) -> None:
        """Nobody is active until the next user message (which goes to the default integration)."""
        self._require_enabled()
        previous = self._current(conversation)
        conversation.active_switchboard_integration = None
        conversation.pending_switchboard_integration = None
        self.bus.emit(
            conversation,
            "switchboard:releaseControl",
            switchboard_payload(conversation, metadata, reason=reason),
            also=[previous] if previous else None,
        )

    def _current(self, conversation: Conversation) -> SwitchboardIntegration | None:
        active = conversation.active_switchboard_integration
        return self.state.switchboard_integrations.get(active.id) if active else None
