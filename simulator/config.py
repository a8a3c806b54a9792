"""One settings object, named after what an admin sees in Zendesk Admin Center and Agent Studio.

Values come from (highest first) explicit overrides, environment variables, `simulator.toml`,
then secrets generated once and kept in the local state folder, then defaults.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

PROJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

# Settings generated on first start and kept in the state folder, so a restart keeps the
# values an admin copied into the other side (as Admin Center keeps them).
GENERATED: dict[str, Any] = {
    "zendesk_app_id": lambda: secrets.token_hex(12),
    "zendesk_integration_id": lambda: secrets.token_hex(12),
    "zendesk_webhook_id": lambda: secrets.token_hex(12),
    "zendesk_shared_secret": lambda: secrets.token_hex(16),
    "zendesk_webhook_secret_key": lambda: secrets.token_urlsafe(24),
    "zendesk_webhook_signing_secret": lambda: secrets.token_urlsafe(32),
    "zendesk_key_id": lambda: "app_" + secrets.token_hex(12),
    "zendesk_key_secret": lambda: secrets.token_urlsafe(48),
    "zendesk_api_token": lambda: secrets.token_urlsafe(30),
    "polyai_connector_token": lambda: secrets.token_urlsafe(24),
    "sms_auth_token": lambda: secrets.token_hex(16),
}

SECRETS_FILE = "secrets.json"


class ConfigError(Exception):
    """A setting is wrong; the message is one line that names it."""


class Settings(BaseModel):
    """Everything configurable, in one place. Environment names are fixed: other tools rely on them.

    A plain model: `load_settings` merges the environment and simulator.toml itself (so tests can
    pass their own), which spares every start-up pydantic-settings' import and per-object sources.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)

    # Harness
    sim_host: str = "127.0.0.1"
    sim_port: int = Field(8080, ge=0, le=65535)
    sim_state_dir: Path = Path(".simulator")
    # The trace of boundary crossings: entries kept in memory (0 turns it off), and a JSON Lines copy.
    sim_trace_size: int = Field(10_000, ge=0, le=1_000_000)
    sim_trace_file: Path | None = None

    # Agent Studio (the PolyAI side)
    polyai_project_id: str = "PROJECT-local"
    polyai_connector_token: SecretStr = SecretStr("")
    polyai_widget_host: str = "localhost"
    polyai_agent_file: Path | None = None
    # The SMS provider's Auth Token (Twilio Console > Account Info), which signs `/sms/inbound`.
    sms_auth_token: SecretStr = SecretStr("")

    # Zendesk Admin Center: Apps and integrations > Conversations integrations
    zendesk_subdomain: str = "local"
    zendesk_app_id: str = ""
    zendesk_integration_id: str = ""
    zendesk_webhook_id: str = ""
    zendesk_shared_secret: SecretStr = SecretStr("")
    zendesk_key_id: str = ""
    zendesk_key_secret: SecretStr = SecretStr("")
    # Admin Center: Apps and integrations > Webhooks ("On Ticket Status Changed")
    zendesk_webhook_secret_key: SecretStr = SecretStr("")
    zendesk_webhook_auth_header: str = "X-Api-Key"
    zendesk_webhook_signing_secret: SecretStr = SecretStr("")
    # Admin Center: Apps and integrations > Zendesk API
    zendesk_api_token: SecretStr = SecretStr("")
    # The agent whose API token the relay uses (`{email}/token:{token}`) to read ticket statuses;
    # empty: the relay reads no tickets and learns of a solved ticket from its status webhook alone.
    zendesk_api_email: str = ""
    zendesk_account_id: int = 10000001

    # Where each side sends its HTTP calls (default: this same server)
    sunco_base_url: str = ""
    relay_base_url: str = ""
    # The Zendesk Support API the relay reads (real Zendesk: https://<subdomain>.zendesk.com)
    zendesk_api_base_url: str = ""

    # Relay behaviour
    relay_store: Literal["sqlite", "memory"] = "sqlite"
    relay_end_statuses: list[str] = ["solved", "closed"]
    relay_agent_join_timeout_seconds: float = Field(600.0, gt=0)
    relay_outbox_deadline_seconds: float = Field(120.0, gt=0)
    relay_sunco_max_attempts: int = Field(5, ge=1, le=20)
    # SunCo requests in flight at once; the rest wait their turn (waiting spends no attempt).
    relay_sunco_max_concurrency: int = Field(16, ge=1, le=1000)
    # A signed status webhook whose timestamp is older than this is refused (401): no replays.
    relay_status_webhook_max_age_seconds: float = Field(300.0, gt=0)
    # A live conversation quiet for this long is checked against SunCo (missed agent messages,
    # control returned on ticket close); the check interval doubles while it stays quiet, up to the max.
    relay_reconcile_seconds: float = Field(5.0, gt=0)
    relay_reconcile_max_seconds: float = Field(300.0, gt=0)
    # Those checks, across all sessions, at most this many per second (the rest wait their turn):
    # they guard against lost webhooks, so at a thousand live conversations they must not cost more
    # than the conversations themselves (nor Zendesk's rate limits).
    relay_reconcile_per_second: float = Field(10.0, gt=0)
    # While waiting for an agent, the user hears HANDOFF_QUEUE_STATUS this often.
    relay_queue_status_seconds: float = Field(60.0, gt=0)
    # Processed webhook event ids are kept this long (past SunCo's and Zendesk's redelivery horizon).
    relay_event_retention_seconds: float = Field(86400.0, gt=0)
    # Messages typed while a handoff was connecting are held when it fails, for the session's next
    # handoff; dropped when the chat session ends, or this long after the failure at the latest.
    relay_held_messages_seconds: float = Field(1800.0, gt=0)

    # SunCo webhook delivery (emulator): up to this many events per POST, several conversations
    # in one delivery as SunCo does; waiting this long for more before sending (0: only what is queued).
    zendesk_webhook_batch_size: int = Field(10, ge=1, le=100)
    zendesk_webhook_batch_wait_seconds: float = Field(0.0, ge=0)

    # Widget behaviour
    widget_session_idle_seconds: float = Field(600.0, gt=0)

    # State: kept in the state folder (SQLite) unless ephemeral; ended conversations kept, newest first
    sim_ephemeral: bool = False
    sim_ended_retention: int = Field(1000, ge=0)

    @field_validator("polyai_project_id")
    @classmethod
    def _project_id(cls, value: str) -> str:
        if not re.match(PROJECT_ID_PATTERN, value):
            raise ValueError("letters, digits, '-' and '_' only, up to 64 characters")
        return value

    @field_validator("zendesk_api_email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if value and not re.match(r"^[^@\s/:]+@[^@\s/:]+$", value):
            raise ValueError("must be the email address of the agent whose API token is ZENDESK_API_TOKEN")
        return value

    @field_validator("sunco_base_url", "relay_base_url", "zendesk_api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    # Derived values: the URLs an admin would paste into each side.
    @property
    def public_base_url(self) -> str:
        """The URL this server answers on."""
        host = "127.0.0.1" if self.sim_host in ("0.0.0.0", "::", "") else self.sim_host
        return f"http://{host}:{self.sim_port}"

    @property
    def sunco_url(self) -> str:
        """Base of the SunCo API the relay calls (ends in `/sc`, paths start `/v2/`)."""
        return self.sunco_base_url or f"{self.public_base_url}/sc"

    @property
    def support_url(self) -> str:
        """Base of the Zendesk Support API the relay reads (paths start `/api/v2/`)."""
        return self.zendesk_api_base_url or self.public_base_url

    @property
    def relay_url(self) -> str:
        """Base URL of the relay that the emulator's webhooks target."""
        return self.relay_base_url or self.public_base_url

    @property
    def events_webhook_path(self) -> str:
        return f"/handoff/webhooks/zendesk/PLATFORM/{self.polyai_project_id}/live/events"

    @property
    def status_webhook_path(self) -> str:
        return f"/handoff/webhooks/zendesk/PLATFORM/{self.polyai_project_id}/live/status"

    def secret_values(self) -> list[str]:
        """Every secret's plain value, for redaction in logs, recordings and the screen."""
        return [
            value.get_secret_value()
            for value in (getattr(self, name) for name in type(self).model_fields)
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]


def private_dir(path: Path) -> Path:
    """The state folder (made if needed), readable by this user only: it holds secrets and chats."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """A state file (made empty if needed) readable by this user only, in a private folder.

    Made before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode.
    """
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    path.chmod(0o600)
    return path


def _field_env_name(name: str) -> str:
    return name.upper()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"simulator.toml: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"simulator.toml: {path} is not valid TOML: {exc}") from None
    known = set(Settings.model_fields)
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.lower()
        if name not in known:
            raise ConfigError(f"{key.upper()}: unknown setting in {path}")
        values[name] = value
    return values


def _load_generated(state_dir: Path, needed: set[str]) -> dict[str, str]:
    path = state_dir / SECRETS_FILE
    stored: dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"SIM_STATE_DIR: cannot read {path}: {exc}") from None
    missing = needed - set(stored)
    if missing:
        for name in missing:
            stored[name] = GENERATED[name]()
        try:
            private_file(path)
            path.write_text(json.dumps(stored, indent=2, sort_keys=True))
        except OSError as exc:
            raise ConfigError(f"SIM_STATE_DIR: cannot write {path}: {exc.strerror}") from None
    return {name: stored[name] for name in needed}


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    config_file: Path | None = None,
    persist_generated: bool = True,
) -> Settings:
    """Build the settings from overrides, the environment, `simulator.toml` and the state folder.

    Raises `ConfigError` with a one-line message naming the setting at fault.
    `persist_generated=False` generates missing secrets in memory only (tests).
    """
    env = dict(os.environ if environ is None else environ)
    overrides = dict(overrides or {})
    path = config_file or Path(env.get("SIM_CONFIG", "simulator.toml"))
    from_file = _read_toml(path) if (config_file or path.exists()) else {}
    from_env = {name: env[_field_env_name(name)] for name in Settings.model_fields if _field_env_name(name) in env}
    merged: dict[str, Any] = {**from_file, **from_env, **overrides}
    for name, value in list(merged.items()):
        if name == "relay_end_statuses" and isinstance(value, str):
            merged[name] = [part.strip() for part in value.split(",") if part.strip()]
    unset = {name for name in GENERATED if not merged.get(name)}
    if unset:
        state_dir = Path(merged.get("sim_state_dir") or Settings.model_fields["sim_state_dir"].default)
        if persist_generated:
            merged.update(_load_generated(state_dir, unset))
        else:
            merged.update({name: GENERATED[name]() for name in unset})
    try:
        return Settings(**merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        got = merged.get(name)
        shown = "" if name in GENERATED or got is None else f" (got {got!r})"
        raise ConfigError(f"{_field_env_name(name)}: {error['msg']}{shown}") from None
