"""The chat side: webchat widget and SMS emulators, and the bot engine."""

from simulator.widget.server import WidgetServer

__all__ = ["WidgetServer"]
