"""Emulator of Sunshine Conversations v2 and the Zendesk pieces a handoff needs."""

from simulator.zendesk.emulator import ZendeskEmulator

__all__ = ["ZendeskEmulator"]
