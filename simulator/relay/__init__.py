"""The relay core: real product code between the chat side and Zendesk. Imports no emulator."""

from simulator.relay.payload import InvalidHandoffPayload
from simulator.relay.relay import Relay

__all__ = ["InvalidHandoffPayload", "Relay"]
