"""The scenario file format, as pydantic models. `schemas/scenario.schema.json` is generated from these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TextMatch(_Strict):
    """How to match a text: exactly, by substring or by regular expression."""

    exact: str | None = None
    contains: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _one(self) -> TextMatch:
        if sum(v is not None for v in (self.exact, self.contains, self.regex)) != 1:
            raise ValueError("give exactly one of exact, contains, regex")
        return self


class EventMatch(_Strict):
    """One event the user (or agent) should see. `type` without the EVENT_TYPE_ prefix."""

    type: str | None = None
    text: str | TextMatch | None = Field(None, description="a plain string matches exactly")
    once: bool = Field(False, description="exactly one such event in the whole history")


class EventCount(EventMatch):
    """How many events matching this the user has seen in the whole session."""

    count: int = Field(ge=0)


class UserDef(_Strict):
    channel: Literal["webchat", "sms"] = "webchat"
    phone: str | None = None
    name: str | None = Field(None, description="the requester name the widget reports")
    email: str | None = None


class UserStep(_Strict):
    """The end user acts."""

    user: Literal["connect", "join", "say", "type", "stop_typing", "reconnect", "end"]
    text: str | None = None
    as_: str | None = Field(None, alias="as", description="which user (default: the first one)")

    @model_validator(mode="after")
    def _text(self) -> UserStep:
        if self.user == "say" and self.text is None:
            raise ValueError("'say' needs 'text'")
        return self


class AgentStep(_Strict):
    """The Zendesk agent acts on the ticket of a user's handoff."""

    agent: Literal["accept", "say", "type", "stop_typing", "set_status"]
    text: str | None = None
    status: Literal["new", "open", "pending", "hold", "solved", "closed"] | None = None
    as_: str | None = Field(None, alias="as", description="the agent's name (default Sarah)")
    for_: str | None = Field(None, alias="for", description="whose ticket (default: the first user)")

    @model_validator(mode="after")
    def _args(self) -> AgentStep:
        if self.agent == "say" and self.text is None:
            raise ValueError("'say' needs 'text'")
        if self.agent == "set_status" and self.status is None:
            raise ValueError("'set_status' needs 'status'")
        return self


class WaitStep(_Strict):
    """Let virtual time pass (a 10-minute wait costs nothing)."""

    wait: float = Field(ge=0, description="virtual seconds")


class FaultStep(_Strict):
    """Inject a fault on the Zendesk side (the object is sent to POST /_sim/faults), or "clear" them all."""

    fault: dict[str, Any] | Literal["clear"]


class RestartStep(_Strict):
    restart: Literal["relay"]


class TicketExpect(_Strict):
    for_: str | None = Field(None, alias="for")
    status: str | None = None
    assignee: str | None = None
    tags: list[str] = Field(default_factory=list, description="tags the ticket must include")
    requester: dict[str, str] = Field(default_factory=dict)
    transcript: list[EventMatch] = Field(default_factory=list, description="in order")


class DeliveryExpect(_Strict):
    kind: Literal["sunco", "zendesk_status"] | None = None
    status: int | None = None
    event_type: str | None = None
    min: int = 1
    max: int | None = None


class Expectations(_Strict):
    """What should be true. Every part is checked; all must hold within `within` virtual seconds."""

    as_: str | None = Field(None, alias="as", description="which user (default: the first one)")
    user_sees: list[EventMatch] = Field(default_factory=list, description="in order, after what was matched before")
    user_never_sees: list[EventMatch] = Field(
        default_factory=list, description="checked now and again after the last step"
    )
    user_does_not_see: list[EventMatch] = Field(default_factory=list, description="checked at this step only")
    user_counts: list[EventCount] = Field(default_factory=list, description="exact counts over the whole session")
    ticket: TicketExpect | None = None
    no_ticket: bool = False
    relay_state: str | None = None
    deliveries: list[DeliveryExpect] = Field(default_factory=list)


class ExpectStep(_Strict):
    expect: Expectations
    within: float = Field(0.0, ge=0, description="virtual seconds to wait for it")


Step = Annotated[
    UserStep | AgentStep | WaitStep | FaultStep | RestartStep | ExpectStep,
    Field(union_mode="left_to_right"),
]


class Scenario(_Strict):
    """A handoff flow: who acts, in order, and what each side must see."""

    schema_: str | None = Field(None, alias="$schema")
    name: str
    description: str | None = None
    agent_file: str | None = Field(None, description="agent definition file, relative to the scenario")
    settings: dict[str, Any] = Field(default_factory=dict, description="setting overrides, e.g. timeouts")
    relay_settings: dict[str, Any] = Field(
        default_factory=dict, description="overrides for the relay only, e.g. a wrong shared secret"
    )
    users: dict[str, UserDef] = Field(default_factory=lambda: {"user": UserDef()})
    steps: list[Step] = Field(min_length=1)
    recording: dict[str, Any] | None = Field(
        None, description="present in recorded sessions: the relay's exchanges (schemas/recording.schema.json)"
    )
