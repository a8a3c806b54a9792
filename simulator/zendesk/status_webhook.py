"""Zendesk's "ticket status changed" event webhook, signed as Zendesk signs every webhook request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable

from simulator.clock import Clock
from simulator.config import Settings
from simulator.zendesk.ids import zendesk_time
from simulator.zendesk.ticket import Ticket
from simulator.zendesk.webhooks import Deliverer, Delivery

EVENT_TYPE = "zen:event-type:ticket.status_changed"
EVENT_VERSION = "2022-11-06"


def zendesk_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key=secret as UTF-8, msg=timestamp + raw body))."""
    mac = hmac.new(signing_secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class StatusWebhook:
    """Builds and queues one signed `ticket.status_changed` delivery per status change."""

    def __init__(self, settings: Settings, clock: Clock, deliverer: Deliverer) -> None:
        self.settings = settings
        self.clock = clock
        self.deliverer = deliverer
        # A fixed id for the one webhook an admin created ("On Ticket Status Changed").
        self.webhook_id = "01" + hashlib.sha256(settings.zendesk_app_id.encode()).hexdigest()[:24].upper()

    @property
    def target(self) -> str:
        return self.settings.relay_url + self.settings.status_webhook_path

    def __call__(self, ticket: Ticket, previous: str) -> None:
        event_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "type": EVENT_TYPE,
                "account_id": self.settings.zendesk_account_id,
                "id": event_id,
                "time": zendesk_time(self.clock.now()),
                "zendesk_event_version": EVENT_VERSION,
                "subject": f"zen:ticket:{ticket.id}",
                "detail": ticket.event_detail(),
                "event": {
                    "current": ticket.status.upper(),
                    "previous": previous.upper(),
                    "meta": {"sequence": {"id": str(uuid.uuid4()), "position": 1}},
                },
            }
        ).encode()
        self.deliverer.enqueue(
            Delivery(
                kind="zendesk_status",
                key=f"ticket:{ticket.id}",
                target=self.target,
                body=body,
                headers=self.signer(),
                event_ids=[event_id],
                event_types=[EVENT_TYPE],
                conversation=ticket.conversation_id,
                ticket=ticket.id,
            )
        )

    def signer(self) -> Callable[[bytes], dict[str, str]]:
        """Headers per attempt for one invocation (also for deliveries resumed after a restart)."""
        invocation_id = str(uuid.uuid4().int)[:19]
        return lambda raw: self._headers(raw, invocation_id)

    def _headers(self, body: bytes, invocation_id: str) -> dict[str, str]:
        """Headers for one attempt: the signature covers this attempt's timestamp."""
        timestamp = zendesk_time(self.clock.now())
        settings = self.settings
        return {
            "Content-Type": "application/json",
            settings.zendesk_webhook_auth_header: settings.zendesk_webhook_secret_key.get_secret_value(),
            "x-zendesk-account-id": str(settings.zendesk_account_id),
            "x-zendesk-webhook-id": self.webhook_id,
            "x-zendesk-webhook-invocation-id": invocation_id,
            "x-zendesk-webhook-signature-timestamp": timestamp,
            "x-zendesk-webhook-signature": zendesk_signature(
                settings.zendesk_webhook_signing_secret.get_secret_value(), timestamp, body
            ),
        }
