"""The scenario file format, as pydantic models. `schemas/scenario.schema.json` is generated from these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.zendesk.faults import SuncoFault, WebhookFault


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


class AttachmentMatch(_Strict):
    """One attachment card of a message: its kind, title and link (each optional)."""

    type: Literal["image", "url"] | None = Field(None, description="ATTACHMENT_CONTENT_TYPE_IMAGE or _URL")
    title: str | TextMatch | None = None
    url: str | TextMatch | None = Field(None, description="the card's content_url")


class EventMatch(_Strict):
    """One event the user (or agent) should see. `type` without the EVENT_TYPE_ prefix."""

    type: str | None = None
    text: str | TextMatch | None = Field(None, description="a plain string matches exactly")
    once: bool = Field(False, description="exactly one such event in the whole history")
    attachments: list[AttachmentMatch] | None = Field(
        None, description="the message's attachments, in order (an empty list: none)"
    )
    level: Literal["INFO", "WARNING", "ERROR"] | None = Field(None, description="a system message's level")


class EventCount(EventMatch):
    """How many events matching this the user has seen in the whole session."""

    count: int = Field(ge=0)


class UserDef(_Strict):
    channel: Literal["webchat", "sms"] = "webchat"
    phone: str | None = None
    name: str | None = Field(None, description="the requester name the widget reports")
    email: str | None = None


class MediaDef(_Strict):
    """A picture or file an SMS user sends (MMS: MediaUrlN / MediaContentTypeN)."""

    url: str
    content_type: str = "image/jpeg"


class UserStep(_Strict):
    """The end user acts. `disconnect` with `seconds`: offline that long, then back with its cursor."""

    user: Literal["connect", "join", "say", "type", "stop_typing", "reconnect", "disconnect", "end"]
    text: str | None = None
    media: list[MediaDef] = Field(default_factory=list, description="'say' on SMS: pictures or files sent along")
    seconds: float | None = Field(None, ge=0, description="'disconnect': virtual seconds offline, then reconnect")
    as_: str | None = Field(None, alias="as", description="which user (default: the first one)")

    @model_validator(mode="after")
    def _text(self) -> UserStep:
        if self.user == "say" and self.text is None and not self.media:
            raise ValueError("'say' needs 'text' (or 'media')")
        if self.media and self.user != "say":
            raise ValueError("'media' goes with 'say'")
        if self.seconds is not None and self.user != "disconnect":
            raise ValueError("'seconds' goes with 'disconnect'")
        return self


TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


class AgentStep(_Strict):
    """The Zendesk agent acts on the ticket of a user's handoff.

    `send_image` / `send_file`: `url` (and `name`, `text` as alt text and caption); `send`: any
    SunCo message `content` (carousel, list, location, form...).
    """

    agent: Literal["accept", "say", "type", "stop_typing", "set_status", "send_image", "send_file", "send"]
    text: str | None = None
    status: str | None = Field(
        None, pattern="(?i)^(new|open|pending|hold|solved|closed)$", description="any case, e.g. SOLVED"
    )
    url: str | None = Field(None, description="send_image / send_file: the media URL")
    name: str | None = Field(None, description="send_image / send_file: alt text or file name")
    content: dict[str, Any] | None = Field(None, description="send: a SunCo message content object")
    as_: str | None = Field(None, alias="as", description="the agent's name (default Sarah)")
    for_: str | None = Field(None, alias="for", description="whose ticket (default: the first user)")

    @model_validator(mode="after")
    def _args(self) -> AgentStep:
        if self.agent == "say" and self.text is None:
            raise ValueError("'say' needs 'text'")
        if self.agent == "set_status" and self.status is None:
            raise ValueError("'set_status' needs 'status'")
        if self.agent in ("send_image", "send_file") and not self.url:
            raise ValueError(f"'{self.agent}' needs 'url'")
        if self.agent == "send" and not self.content:
            raise ValueError("'send' needs 'content'")
        return self


class WaitStep(_Strict):
    """Let virtual time pass (a 10-minute wait costs nothing)."""

    wait: float = Field(ge=0, description="virtual seconds")


class FaultStep(_Strict):
    """Inject a fault on the Zendesk side (the object is sent to POST /_sim/faults), or "clear" them all.

    SunCo faults may target one `operation` (`passControl`, `POST messages`...) and delay the
    answer (`delay_seconds`, after the call took effect); webhook faults duplicate, drop, delay,
    reorder, fail, add `latency` after signing, or `batch` the next deliveries into one POST.
    """

    fault: Annotated[SuncoFault | WebhookFault, Field(discriminator="target")] | Literal["clear"]


class RestartStep(_Strict):
    restart: Literal["relay"]


class CrashStep(_Strict):
    """The relay's process dies where it stands (no shutdown: whatever it was doing is cut off) and
    a new one starts on the same store, read again from its file, as a supervisor would restart it.

    `when`: `now`, or `after_saving_ended`: armed, it dies right after it next saves a session as
    ended, before telling the user or queueing the ticket's notice and release.
    """

    crash: Literal["relay"]
    when: Literal["now", "after_saving_ended"] = "now"


class RelaySettingsStep(_Strict):
    """Change the relay's own settings as an admin would (a redeploy with the new values), e.g. a
    rotated shared secret; the Zendesk side keeps its own."""

    relay_settings: dict[str, Any] = Field(min_length=1)


class TicketExpect(_Strict):
    """A Zendesk ticket: the one of a user's handoff (`for`), or ticket `number` (e.g. an older one)."""

    for_: str | None = Field(None, alias="for")
    number: int | None = Field(None, ge=1, description="the ticket id, e.g. 1 for the first ticket")
    status: str | None = None
    assignee: str | None = None
    tags: list[str] = Field(default_factory=list, description="tags the ticket must include")
    requester: dict[str, str] = Field(default_factory=dict)
    transcript: list[EventMatch] = Field(
        default_factory=list, description="in order; `once`: exactly one such line in the transcript"
    )
    nothing_after: bool = Field(False, description="no transcript line after the last one matched")


class DeliveryExpect(_Strict):
    """Webhook delivery attempts in the log; with `event_type`, `min`/`max` count events (a POST may carry several)."""

    kind: Literal["sunco", "zendesk_status"] | None = None
    status: int | None = None
    event_type: str | None = None
    min: int = 1
    max: int | None = None
    batched: bool | None = Field(None, description="only POSTs carrying several events (or only single ones)")


class CountRange(_Strict):
    """A number that must lie between `min` and `max` (each optional)."""

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


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
    tickets: int | None = Field(None, ge=0, description="how many Zendesk tickets exist")
    relay_state: str | None = None
    relay_event_ids: CountRange | None = Field(
        None, description="processed event ids the relay's store keeps (pruned past RELAY_EVENT_RETENTION_SECONDS)"
    )
    deliveries: list[DeliveryExpect] = Field(default_factory=list)


class ExpectStep(_Strict):
    expect: Expectations
    within: float = Field(0.0, ge=0, description="virtual seconds to wait for it")


Step = Annotated[
    UserStep | AgentStep | WaitStep | FaultStep | RestartStep | CrashStep | RelaySettingsStep | ExpectStep,
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
