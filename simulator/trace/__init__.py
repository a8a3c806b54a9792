"""The trace: one ordered, redacted record of every boundary crossing, shared by the TUI, recordings and HTTP."""

from simulator.trace.model import TRACE_KINDS, TraceEntry, TraceKind
from simulator.trace.trace import Trace

__all__ = ["TRACE_KINDS", "Trace", "TraceEntry", "TraceKind"]
