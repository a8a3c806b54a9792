"""Fault injection: make the next SunCo calls fail, or the next webhook deliveries misbehave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator


def operation_name(method: str, path: str) -> str:
    """A SunCo call as faults name it: `passControl`, `POST messages`, `GET conversation`, `POST users`...

    `path` is relative to `/sc/v2/apps/{appId}`; ids are left out.
    """
    parts = [part for part in path.split("?")[0].split("/") if part]
    if not parts:
        return method
    if parts[0] == "conversations" and len(parts) >= 3:
        action = parts[2]
        return (
            action
            if action in ("passControl", "releaseControl", "offerControl", "acceptControl")
            else (f"{method} {action}")
        )
    if len(parts) == 2:  # one resource: /users/{id}, /conversations/{id}
        return f"{method} {parts[0].removesuffix('s')}"
    return f"{method} {parts[-1] if len(parts) % 2 else parts[0]}"


class SuncoFault(BaseModel):
    """The next `count` SunCo REST calls (or only those of one `operation`) misbehave.

    `status` alone: answer it without doing anything (0 drops the connection). With `after_acting`,
    the call takes effect first and then answers `status` (a lost or failed reply). `delay_seconds`
    delays the answer by that many virtual seconds (the call takes effect at once), alone or with
    `after_acting`.
    """

    model_config = ConfigDict(extra="forbid")

    target: Literal["sunco"]
    status: int | None = None
    count: int = Field(1, ge=1)
    retry_after: int | None = Field(None, ge=0)
    operation: str | None = Field(
        None, description="only this call: passControl, releaseControl, POST messages, GET messages, POST users..."
    )
    delay_seconds: float = Field(0.0, ge=0, description="virtual seconds before the answer")
    after_acting: bool = Field(False, description="do the call, then answer `status`")

    @field_validator("status")
    @classmethod
    def _status(cls, status: int | None) -> int | None:
        if status is not None and status != 0 and not 400 <= status <= 599:
            raise ValueError("must be 0 (drop the connection) or an error status 400-599")
        return status

    @model_validator(mode="after")
    def _something(self) -> SuncoFault:
        if self.status is None and self.delay_seconds <= 0:
            raise ValueError("give a status, a delay_seconds, or both")
        if self.after_acting and self.status is None:
            raise ValueError("after_acting needs a status to answer")
        return self

    def applies_to(self, operation: str, spec_op: str | None = None) -> bool:
        """Whether this fault is meant for that call: by our name (`POST messages`, which `messages`
        also names) or by the spec's operation id (`PostMessage`), in any case."""
        if self.operation is None:
            return True
        names = {operation.lower(), operation.split()[-1].lower(), (spec_op or "").lower()}
        return self.operation.lower() in names


class WebhookFault(BaseModel):
    """The next `count` webhook deliveries (both kinds) are duplicated, dropped, delayed, reordered or failed.

    `latency`: the request is signed when sent, then arrives `delay_seconds` later (its signature
    timestamp is that old). `duplicate` with `delay_seconds`: the copy comes that much later (a
    redelivery; the conversation's later deliveries wait behind it). `batch`: the next `count`
    deliveries (any conversations) travel in one POST, waiting up to `delay_seconds` (default 5)
    for them; `with_invalid_event` adds an unreadable event to that POST.
    """

    model_config = ConfigDict(extra="forbid")

    target: Literal["webhooks"]
    mode: Literal["duplicate", "drop", "delay", "reorder", "fail", "latency", "batch"]
    count: int = Field(1, ge=1)
    delay_seconds: float = Field(0.0, ge=0)
    with_invalid_event: bool = False
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

    mode: Literal["duplicate", "drop", "delay", "reorder", "latency", "batch"]
    delay_seconds: float = 0.0
    count: int = 1
    with_invalid_event: bool = False


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

    @property
    def armed(self) -> bool:
        """Whether any fault is pending (a request need not work out its operation's name otherwise)."""
        return bool(self._pending)

    def pending(self) -> list[dict[str, Any]]:
        """The faults still armed, with how many uses each has left."""
        return [
            {**fault.model_dump(exclude_none=True), "remaining": left}
            for fault, left in zip(self._pending, self._left, strict=True)
        ]

    def _take(
        self,
        wanted: set[str],
        delivery: tuple[str, list[str]] | None = None,
        operation: str | None = None,
        *,
        spec_op: str | None = None,
        whole: bool = False,
    ) -> SuncoFault | WebhookFault | None:
        if not self._pending:  # the usual case, a few times per delivery and per SunCo call
            return None
        for index, fault in enumerate(self._pending):
            kind = fault.target if isinstance(fault, SuncoFault) else fault.mode
            if isinstance(fault, WebhookFault) and delivery is not None and not fault.applies_to(*delivery):
                continue
            if isinstance(fault, SuncoFault) and operation is not None and not fault.applies_to(operation, spec_op):
                continue
            if kind in wanted:
                self._left[index] = 0 if whole else self._left[index] - 1
                if self._left[index] <= 0:
                    del self._pending[index]
                    del self._left[index]
                return fault
        return None

    def take_sunco(self, operation: str | None = None, spec_op: str | None = None) -> SuncoFault | None:
        """Consume one use of the first SunCo fault meant for this call (`operation_name`, or the
        spec's operation id), if any."""
        fault = self._take({"sunco"}, operation=operation, spec_op=spec_op)
        return fault if isinstance(fault, SuncoFault) else None

    def take_delivery(self, kind: str, event_types: list[str]) -> DeliveryFault | None:
        """Consume one use of the first delivery-shaping webhook fault meant for this delivery, if any.

        A `batch` fault is used up at once: its `count` is how many deliveries share the one POST.
        """
        # Only SunCo batches events; Zendesk's status webhook sends one event per request.
        batch = self._take({"batch"}, (kind, event_types), whole=True) if kind == "sunco" else None
        if isinstance(batch, WebhookFault):
            return DeliveryFault(
                mode="batch",
                delay_seconds=batch.delay_seconds,
                count=batch.count,
                with_invalid_event=batch.with_invalid_event,
            )
        fault = self._take({"duplicate", "drop", "delay", "reorder", "latency"}, (kind, event_types))
        if isinstance(fault, WebhookFault) and fault.mode in ("duplicate", "drop", "delay", "reorder", "latency"):
            return DeliveryFault(mode=fault.mode, delay_seconds=fault.delay_seconds)
        return None

    def take_failure(self, kind: str, event_types: list[str]) -> int | None:
        """Consume one use of a `fail` fault meant for this delivery: the status the target pretends to answer."""
        fault = self._take({"fail"}, (kind, event_types))
        return fault.status if isinstance(fault, WebhookFault) else None
