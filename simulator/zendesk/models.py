"""SunCo v2 wire models: request bodies and resources, camelCase on the wire as in the OpenAPI spec."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel


def _small(metadata: dict[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
    if len(json.dumps(metadata)) > 4096:
        raise ValueError("metadata must be at most 4 KB")
    return metadata


# Flat (string/number/bool values) and at most 4 KB, as SunCo requires.
Metadata = Annotated[dict[str, str | int | float | bool], AfterValidator(_small)]


class Wire(BaseModel):
    """Base: camelCase aliases, snake_case attributes; unknown request fields are ignored (as SunCo does)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict SunCo would send: aliases, no unset optional fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Kept(Wire):
    """Base of the resources the emulator keeps (users, conversations, messages), thousands at once.

    Pydantic gives every instance its own set of the field names set at construction (216 bytes,
    728 past four names: a third of a stored message). Nothing reads it here (answers drop None,
    not unset fields), so a kept resource shares one set of all its class's field names instead.
    Words that recur in every record (types, metadata keys) are interned: one copy for all.
    """

    # Fields whose text (a string, or a dict's keys) is interned.
    interned: ClassVar[tuple[str, ...]] = ()

    def model_post_init(self, context: Any, /) -> None:
        _share_fields_set(self)
        values = self.__dict__
        for name in self.interned:
            value = values[name]
            if type(value) is str:
                values[name] = sys.intern(value)
            elif type(value) is dict:
                values[name] = {sys.intern(k) if type(k) is str else k: v for k, v in value.items()}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        _share_fields_set(copied)
        return copied

    def __copy__(self) -> Self:
        copied = super().__copy__()
        _share_fields_set(copied)
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied = super().__deepcopy__(memo)
        _share_fields_set(copied)
        return copied


_FIELD_SETS: dict[type, set[str]] = {}


def _share_fields_set(model: BaseModel) -> None:
    kind = type(model)
    shared = _FIELD_SETS.get(kind)
    if shared is None:
        shared = _FIELD_SETS[kind] = set(kind.model_fields)
    object.__setattr__(model, "__pydantic_fields_set__", shared)


# --- users -------------------------------------------------------------------------------


class Profile(Kept):
    given_name: str | None = None
    surname: str | None = None
    email: str | None = None
    avatar_url: str | None = None
    locale: str | None = None


class UserCreateBody(Wire):
    external_id: str | None = Field(None, min_length=1, max_length=1024)
    signed_up_at: str | None = None
    to_be_retained: bool | None = None
    profile: Profile | None = None
    metadata: Metadata | None = None


class UserUpdateBody(UserCreateBody):
    pass


class User(Kept):
    id: str
    external_id: str | None = None
    zendesk_id: str | None = None
    signed_up_at: str
    to_be_retained: bool = False
    authenticated: bool = False
    profile: Profile = Field(default_factory=Profile)
    metadata: Metadata = Field(default_factory=dict)
    identities: list[dict[str, Any]] = Field(default_factory=list)


# --- switchboards ------------------------------------------------------------------------


class SwitchboardIntegrationRef(Kept):
    """The `switchboardIntegrationWebhook` shape carried inside conversations."""

    id: str
    name: str
    integration_id: str
    integration_type: str


class SwitchboardIntegration(Wire):
    id: str
    name: str
    integration_id: str
    integration_type: str
    deliver_standby_events: bool
    next_switchboard_integration_id: str | None = None
    message_history_count: int | None = None

    def ref(self) -> SwitchboardIntegrationRef:
        return SwitchboardIntegrationRef(
            id=self.id, name=self.name, integration_id=self.integration_id, integration_type=self.integration_type
        )


class Switchboard(Wire):
    id: str
    enabled: bool
    default_switchboard_integration_id: str | None = None


class PassControlBody(Wire):
    switchboard_integration: str = Field(min_length=1)
    metadata: Metadata | None = None
    reason: Literal["ticketClosed", "transferToEmail"] | None = None


class OfferControlBody(Wire):
    switchboard_integration: str = Field(min_length=1)
    metadata: Metadata | None = None


class AcceptControlBody(Wire):
    metadata: Metadata | None = None


class ReleaseControlBody(Wire):
    metadata: Metadata | None = None
    reason: Literal["ticketClosed", "transferToEmail"] | None = None


# --- conversations -----------------------------------------------------------------------


class ParticipantBody(Wire):
    user_id: str | None = None
    user_external_id: str | None = None
    subscribe_sdk_client: bool | None = Field(None, alias="subscribeSDKClient")

    @model_validator(mode="after")
    def _who(self) -> ParticipantBody:
        if not self.user_id and not self.user_external_id:
            raise ValueError("userId or userExternalId is required")
        return self


class ConversationCreateBody(Wire):
    type: Literal["personal", "sdkGroup"]
    participants: list[ParticipantBody] = Field(default_factory=list)
    display_name: str | None = None
    description: str | None = None
    icon_url: str | None = None
    metadata: Metadata | None = None


class ConversationUpdateBody(Wire):
    display_name: str | None = None
    description: str | None = None
    icon_url: str | None = None
    metadata: Metadata | None = None


class Conversation(Kept):
    interned: ClassVar[tuple[str, ...]] = ("type", "metadata")
    id: str
    type: str
    metadata: Metadata = Field(default_factory=dict)
    active_switchboard_integration: SwitchboardIntegrationRef | None = None
    pending_switchboard_integration: SwitchboardIntegrationRef | None = None
    is_default: bool = False
    display_name: str | None = None
    description: str | None = None
    icon_url: str | None = None
    business_last_read: str | None = None
    last_updated_at: str
    created_at: str

    def truncated(self) -> dict[str, Any]:
        """The `conversationTruncated` form used in webhook payloads."""
        out: dict[str, Any] = {"id": self.id, "type": self.type, "metadata": dict(self.metadata)}
        if self.active_switchboard_integration:
            out["activeSwitchboardIntegration"] = self.active_switchboard_integration.wire()
        if self.pending_switchboard_integration:
            out["pendingSwitchboardIntegration"] = self.pending_switchboard_integration.wire()
        return out


# --- messages and activities -------------------------------------------------------------


class Author(Kept):
    interned: ClassVar[tuple[str, ...]] = ("type", "display_name")
    type: Literal["business", "user"]
    subtypes: list[Literal["AI", "activity", "agent", "bot"]] | None = Field(None, min_length=1, max_length=1)
    user_id: str | None = None
    user_external_id: str | None = None
    brand_id: str | None = Field(None, exclude=True)
    display_name: str | None = None
    avatar_url: str | None = None


class Content(Kept):
    """Message content, stored as sent (checked against the spec by `content.check_content` first)."""

    interned: ClassVar[tuple[str, ...]] = ("type",)
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    type: Literal["text", "image", "file", "carousel", "list", "location", "form", "formResponse", "template"]
    text: str | None = None
    media_url: str | None = None


class Source(Kept):
    interned: ClassVar[tuple[str, ...]] = ("type", "integration_id")
    type: str
    integration_id: str | None = None
    original_message_id: str | None = None
    original_message_timestamp: str | None = None


class MessagePostBody(Wire):
    author: Author
    content: Content
    destination: dict[str, Any] | None = None
    metadata: Metadata | None = None
    override: dict[str, Any] | None = None
    schema_: str | None = Field(None, alias="schema")


class Message(Kept):
    interned: ClassVar[tuple[str, ...]] = ("metadata",)
    id: str
    received: str
    author: Author
    content: Content
    source: Source
    metadata: Metadata | None = None
    deleted: bool | None = None


class ActivityPostBody(Wire):
    type: Literal["typing:start", "typing:stop", "conversation:read"]
    author: Author


# --- integrations and webhooks -----------------------------------------------------------

TRIGGERS = (  # every trigger the spec lists (case sensitive)
    "client:add",
    "client:remove",
    "client:update",
    "conversation:create",
    "conversation:join",
    "conversation:leave",
    "conversation:remove",
    "conversation:message",
    "conversation:message:delivery:channel",
    "conversation:message:delivery:failure",
    "conversation:message:delivery:user",
    "conversation:postback",
    "conversation:read",
    "conversation:referral",
    "passthrough:messaging",
    "conversation:typing",
    "switchboard:acceptControl",
    "switchboard:acceptControl:failure",
    "switchboard:offerControl",
    "switchboard:offerControl:failure",
    "switchboard:passControl",
    "switchboard:passControl:failure",
    "switchboard:releaseControl",
    "user:merge",
    "user:update",
    "user:remove",
)


class WebhookBody(Wire):
    target: str | None = Field(None, pattern=r"^https?://")
    triggers: list[str] | None = Field(None, min_length=1)
    include_full_user: bool | None = None
    include_full_source: bool | None = None

    @field_validator("triggers")
    @classmethod
    def _known(cls, triggers: list[str] | None) -> list[str] | None:
        for trigger in triggers or []:
            if trigger not in TRIGGERS:
                raise ValueError(f"unknown trigger {trigger!r}")
        return triggers


class WebhookCreateBody(WebhookBody):
    target: str = Field(pattern=r"^https?://")
    triggers: list[str] = Field(min_length=1)


class Webhook(Wire):
    id: str
    version: str = "v2"
    target: str
    triggers: list[str]
    secret: str
    include_full_user: bool = False
    include_full_source: bool = False


class IntegrationCreateBody(Wire):
    type: Literal["custom"]
    display_name: str | None = Field(None, max_length=100)
    webhooks: list[WebhookCreateBody] = Field(default_factory=list, max_length=1)


class IntegrationUpdateBody(Wire):
    display_name: str | None = Field(None, min_length=1, max_length=100)


class Integration(Wire):
    """An integration; channel integrations keep their type's own fields (extra) as sent."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    id: str
    type: str
    status: str = "active"
    display_name: str | None = None
