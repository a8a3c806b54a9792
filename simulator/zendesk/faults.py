"""Fault injection: make the next SunCo calls fail, or the next webhook deliveries misbehave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator


class SuncoFault(BaseModel):
    """The next `count` SunCo REST calls answer `status` without doing anything; 0 drops the connection."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["sunco"]
    status: int
    count: int = Field(1, ge=1)
    retry_after: int | None = Field(None, ge=0)

    @field_validator("status")
    @classmethod
    def _status(cls, status: int) -> int:
        if status != 0 and not 400 <= status <= 599:
            raise ValueError("must be 0 (drop the connection) or an error status 400-599")
        return status


class WebhookFault(BaseModel):
    """The next `count` webhook deliveries (both kinds) are duplicated, dropped, delayed, reordered or failed."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["webhooks"]
    mode: Literal["duplicate", "drop", "delay", "reorder", "fail"]
    count: int = Field(1, ge=1)
    delay_seconds: float = Field(0.0, ge=0)
    status: int = Field(500, ge=100, le=599)
    # Narrow the fault to one kind of delivery, so a scenario hits the delivery it means even
    # when others (a status webhook, a switchboard event) are queued at the same moment.
    kind: Literal["sunco", "zendesk_status"] | None = None
    event_type: str | None = Field(None, description="e.g. conversation:message")

    def applies_to(self, kind: str, event_types: list[str]) -> bool:
        """Whether this fault is meant for a delivery of that kind carrying those events."""
        return (self.kind is None or self.kind == kind) and (self.event_type is None or self.event_type in event_types)


Fault = Annotated[SuncoFault | WebhookFault, Field(discriminator="target")]
fault_adapter: TypeAdapter[SuncoFault | WebhookFault] = TypeAdapter(Fault)


@dataclass
class DeliveryFault:
    """What the delivery worker must do to one delivery."""

    mode: Literal["duplicate", "drop", "delay", "reorder"]
    delay_seconds: float = 0.0


class FaultBook:
    """Pending faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._pending: list[SuncoFault | WebhookFault] = []
        self._left: list[int] = []
        self._listeners: list[Callable[[dict[str, Any] | Literal["clear"]], None]] = []

    def listen(self, callback: Callable[[dict[str, Any] | Literal["clear"]], None]) -> Callable[[], None]:
        """Tell `callback` each fault added (as `POST /_sim/faults` takes it) or "clear" (a recorder keeps them)."""
        self._listeners.append(callback)

        def stop() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return stop

    def add(self, fault: SuncoFault | WebhookFault) -> None:
        self._pending.append(fault)
        self._left.append(fault.count)
        for listener in list(self._listeners):
            listener(fault.model_dump(exclude_none=True))

    def clear(self) -> None:
        self._pending.clear()
        self._left.clear()
        for listener in list(self._listeners):
            listener("clear")

    def pending(self) -> list[dict[str, Any]]:
        """The faults still armed, with how many uses each has left."""
        return [
            {**fault.model_dump(exclude_none=True), "remaining": left}
            for fault, left in zip(self._pending, self._left, strict=True)
        ]

    def _take(
        self, wanted: set[str], delivery: tuple[str, list[str]] | None = None
    ) -> SuncoFault | WebhookFault | None:
        for index, fault in enumerate(self._pending):
            kind = fault.target if isinstance(fault, SuncoFault) else fault.mode
            if isinstance(fault, WebhookFault) and delivery is not None and not fault.applies_to(*delivery):
                continue
            if kind in wanted:
                self._left[index] -= 1
                if self._left[index] <= 0:
                    del self._pending[index]
                    del self._left[index]
                return fault
        return None

    def take_sunco(self) -> SuncoFault | None:
        """Consume one use of the first SunCo fault, if any."""
        fault = self._take({"sunco"})
        return fault if isinstance(fault, SuncoFault) else None

    def take_delivery(self, kind: str, event_types: list[str]) -> DeliveryFault | None:
        """Consume one use of the first delivery-shaping webhook fault meant for this delivery, if any."""
        fault = self._take({"duplicate", "drop", "delay", "reorder"}, (kind, event_types))
        if isinstance(fault, WebhookFault) and fault.mode != "fail":
            return DeliveryFault(mode=fault.mode, delay_seconds=fault.delay_seconds)
        return None

    def take_failure(self, kind: str, event_types: list[str]) -> int | None:
        """Consume one use of a `fail` fault meant for this delivery: the status the target pretends to answer."""
        fault = self._take({"fail"}, (kind, event_types))
        return fault.status if isinstance(fault, WebhookFault) else None
