"""In-memory store of the SunCo app: configuration (integrations, webhooks, switchboard) and data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.config import Settings
from simulator.durable import durable, every, peek, scan, scan_items
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import (
    Conversation,
    Integration,
    Message,
    Switchboard,
    SwitchboardIntegration,
    User,
    Webhook,
)

AGENT_WORKSPACE = "zd-agentWorkspace"
AGENT_WORKSPACE_TYPE = "zd:agentWorkspace"
RELAY_SWITCHBOARD_NAME = "polyai"
MESSAGE_LIMIT = 30_000

# What the seeded Conversations Integration webhook listens to.
SEEDED_TRIGGERS = [
    "conversation:message",
    "conversation:typing",
    "conversation:read",
    "switchboard:passControl",
    "switchboard:passControl:failure",
    "switchboard:offerControl",
    "switchboard:offerControl:failure",
    "switchboard:acceptControl",
    "switchboard:acceptControl:failure",
    "switchboard:releaseControl",
]


@dataclass
class AppState:
    """Everything the emulated SunCo app holds. Configuration is seeded from settings."""

    app_id: str
    # `durable()` fields are kept in the state file (see simulator.durable): declare new ones the same way.
    integrations: dict[str, Integration] = durable()
    webhooks: dict[str, list[Webhook]] = durable()  # by integration id
    switchboard: Switchboard | None = durable(None)
    switchboard_integrations: dict[str, SwitchboardIntegration] = durable()
    users: dict[str, User] = durable()
    conversations: dict[str, Conversation] = durable()
    participants: dict[str, list[str]] = durable()  # conversation id -> user ids
    # conversation id -> oldest first; a stored message is never changed in place (replace it instead)
    messages: dict[str, list[Message]] = durable(immutable_items=True)
    # Resources of the rest of the API (JSON as SunCo shows them; secrets included, never logged).
    apps: dict[str, dict[str, Any]] = durable()  # app id -> app (the seeded one first)
    app_keys: dict[str, dict[str, Any]] = durable()  # key id -> {id, displayName, secret}
    integration_keys: dict[str, dict[str, Any]] = durable()  # key id -> key + integrationId
    attachments: dict[str, dict[str, Any]] = durable()  # mediaUrl -> attachment
    attachment_files: dict[str, bytes] = durable()  # attachment id -> uploaded bytes
    clients: dict[str, list[dict[str, Any]]] = durable()  # user id -> clients
    devices: dict[str, list[dict[str, Any]]] = durable()  # user id -> devices
    oauth_codes: dict[str, str] = durable()  # authorization code -> OAuth client id
    oauth_tokens: dict[str, str] = durable()  # access token -> integration id
    # Users and conversations of finished conversations leave memory (simulator.zendesk.retention);
    # what finding them again needs stays: externalId -> user id, user id -> conversation ids.
    archived_external_ids: dict[str, str] = field(default_factory=dict)
    archived_conversations: dict[str, list[str]] = field(default_factory=dict)

    def find_user(self, user_id_or_external_id: str) -> User | None:
        """Look a user up by SunCo id, then by externalId."""
        user = self.users.get(user_id_or_external_id)
        if user:
            return user
        found = next((u for u in scan(self.users) if u.external_id == user_id_or_external_id), None)
        if found is not None:
            return self.users[found.id]
        archived = self.users.get(self.archived_external_ids.get(user_id_or_external_id, ""))
        return archived if archived is not None and archived.external_id == user_id_or_external_id else None

    def peek_user(self, user_id_or_external_id: str) -> User | None:
        """`find_user` for lookups that only read: the user is not noted for the next commit's
        re-encoding (see `simulator.durable.peek`), so never change what this returns."""
        user = peek(self.users, user_id_or_external_id)
        if user is not None:
            return user
        found = next((u for u in scan(self.users) if u.external_id == user_id_or_external_id), None)
        if found is not None:
            return found
        archived = peek(self.users, self.archived_external_ids.get(user_id_or_external_id, ""))
        return archived if archived is not None and archived.external_id == user_id_or_external_id else None

    def all_users(self) -> list[User]:
        """Every user, also those of finished conversations that left memory (for listings)."""
        return list(every(self.users).values())

    def conversation_ids_of(self, user_id: str) -> list[str]:
        """The ids of the conversations the user takes part in (finished ones included)."""
        found = [cid for cid, members in scan_items(self.participants) if user_id in members]
        archived = [cid for cid in self.archived_conversations.get(user_id, []) if cid not in found]
        return found + [cid for cid in archived if user_id in (self.participants.get(cid) or [])]

    def find_webhook(self, webhook_id: str) -> tuple[str, Webhook] | None:
        for integration_id, hooks in self.webhooks.items():
            for hook in hooks:
                if hook.id == webhook_id:
                    return integration_id, hook
        return None

    def find_switchboard_integration(self, id_or_name: str) -> SwitchboardIntegration | None:
        """Resolve a passControl target given as switchboard integration id or name."""
        found = self.switchboard_integrations.get(id_or_name)
        if found:
            return found
        return next((s for s in self.switchboard_integrations.values() if s.name == id_or_name), None)

    def agent_workspace(self) -> SwitchboardIntegration:
        found = self.find_switchboard_integration(AGENT_WORKSPACE)
        assert found is not None, "the seeded app always has the agent workspace"
        return found

    def default_switchboard_integration(self) -> SwitchboardIntegration | None:
        if not self.switchboard or not self.switchboard.enabled:
            return None
        return self.switchboard_integrations.get(self.switchboard.default_switchboard_integration_id or "")

    def clear_data(self) -> None:
        """Forget users, conversations and messages (reset)."""
        self.archived_external_ids.clear()
        self.archived_conversations.clear()
        self.users.clear()
        self.conversations.clear()
        self.participants.clear()
        self.messages.clear()
        self.attachments.clear()
        self.attachment_files.clear()
        self.clients.clear()
        self.devices.clear()


def seeded_state(settings: Settings) -> AppState:
    """The app an admin set up in Admin Center: Conversations Integration, switchboard, agent workspace."""
    state = AppState(app_id=settings.zendesk_app_id)
    state.apps[state.app_id] = {
        "id": state.app_id,
        "displayName": "Zendesk",
        "subdomain": settings.zendesk_subdomain,
        "settings": {
            "conversationRetentionSeconds": 0,
            "maskCreditCardNumbers": True,
            "useAnimalNames": False,
            "echoPostback": False,
            "ignoreAutoConversationStart": False,
            "multiConvoEnabled": True,
            "appLocalizationEnabled": False,
        },
        "metadata": None,
    }
    relay = Integration(id=settings.zendesk_integration_id, type="custom", display_name="PolyAI")
    workspace = Integration(id=new_id(), type=AGENT_WORKSPACE_TYPE, display_name="Agent Workspace")
    state.integrations = {relay.id: relay, workspace.id: workspace}
    state.webhooks = {
        relay.id: [
            Webhook(
                id=settings.zendesk_webhook_id,
                target=settings.relay_url + settings.events_webhook_path,
                triggers=list(SEEDED_TRIGGERS),
                secret=settings.zendesk_shared_secret.get_secret_value(),
            )
        ],
        workspace.id: [],
    }
    polyai_id, workspace_sbi_id = new_id(), new_id()
    state.switchboard_integrations = {
        polyai_id: SwitchboardIntegration(
            id=polyai_id,
            name=RELAY_SWITCHBOARD_NAME,
            integration_id=relay.id,
            integration_type="custom",
            deliver_standby_events=True,
            next_switchboard_integration_id=workspace_sbi_id,
        ),
        workspace_sbi_id: SwitchboardIntegration(
            id=workspace_sbi_id,
            name=AGENT_WORKSPACE,
            integration_id=workspace.id,
            integration_type=AGENT_WORKSPACE_TYPE,
            deliver_standby_events=False,
            next_switchboard_integration_id=polyai_id,
        ),
    }
    state.switchboard = Switchboard(id=new_id(), enabled=True, default_switchboard_integration_id=polyai_id)
    return state


def reseed(state: AppState, settings: Settings) -> None:
    """After loading the state file: the seeded webhook follows the settings (its target, its secret)."""
    for integration_id, hooks in state.webhooks.items():
        for index, hook in enumerate(hooks):
            if hook.id == settings.zendesk_webhook_id:
                target = settings.relay_url + settings.events_webhook_path
                secret = settings.zendesk_shared_secret.get_secret_value()
                hooks[index] = hook.model_copy(update={"target": target, "secret": secret})
        state.webhooks[integration_id] = hooks
