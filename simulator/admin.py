"""The values an admin copies between Zendesk Admin Center and Agent Studio, as rows (secrets marked).

The start-up banner, `python -m simulator secrets` and the TUI's Admin screen all show this
list; `secret` says which values must be masked wherever the output may be kept (logs, CI).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.config import Settings

MASK = "********"


@dataclass(frozen=True)
class AdminValue:
    """One row: a label, its value, and whether the value is a secret (masked until asked for)."""

    label: str
    value: str
    secret: bool = False

    def shown(self, reveal: bool) -> str:
        """The value as displayed: secrets masked unless `reveal`."""
        return self.value if reveal or not self.secret or not self.value else MASK


def admin_values(settings: Settings) -> list[AdminValue]:
    """The rows `serve` prints in its banner, in the same order (section headings have no value)."""
    base = settings.public_base_url
    return [
        AdminValue("Simulator", base),
        AdminValue("SunCo API (SUNCO_BASE_URL)", settings.sunco_url),
        AdminValue("Webchat widget", f"{base}/widget/api/v1"),
        AdminValue("Agent workspace", f"{base}/_sim/agent/tickets"),
        AdminValue("Zendesk Admin Center > Conversations integration", ""),
        AdminValue("  App ID", settings.zendesk_app_id),
        AdminValue("  Integration ID", settings.zendesk_integration_id),
        AdminValue("  Webhook ID", settings.zendesk_webhook_id),
        AdminValue("  Shared secret", settings.zendesk_shared_secret.get_secret_value(), secret=True),
        AdminValue("  Webhook URL", settings.relay_url + settings.events_webhook_path),
        AdminValue("Zendesk Admin Center > Webhooks (ticket status)", ""),
        AdminValue("  Endpoint URL", settings.relay_url + settings.status_webhook_path),
        AdminValue(
            f"  API key header ({settings.zendesk_webhook_auth_header})",
            settings.zendesk_webhook_secret_key.get_secret_value(),
            secret=True,
        ),
        AdminValue("  Signing secret", settings.zendesk_webhook_signing_secret.get_secret_value(), secret=True),
        AdminValue("SunCo API key ID", settings.zendesk_key_id),
        AdminValue("SunCo API key secret", settings.zendesk_key_secret.get_secret_value(), secret=True),
        AdminValue("Zendesk API token", settings.zendesk_api_token.get_secret_value(), secret=True),
        AdminValue("Widget connector token", settings.polyai_connector_token.get_secret_value(), secret=True),
        AdminValue("SMS inbound webhook", f"{base}/sms/inbound"),
        AdminValue("SMS provider Auth Token", settings.sms_auth_token.get_secret_value(), secret=True),
    ]


def render(values: list[AdminValue], *, reveal: bool) -> list[str]:
    """The rows as aligned text lines (a heading, a row without a value, stands after a blank line)."""
    width = max(len(v.label) for v in values)
    lines: list[str] = []
    for value in values:
        if not value.value and not value.label.startswith(" "):
            lines += ["", value.label]
        else:
            lines.append(f"{value.label:<{width}}  {value.shown(reveal) or '(not set)'}")
    return lines
