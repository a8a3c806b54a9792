"""SunCo REST v2: users, their clients and devices, personal information and Zendesk sync."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.zendesk.app_events import user_for
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.events import PayloadBuilder
from simulator.zendesk.http import ok, parse
from simulator.zendesk.ids import new_id
from simulator.zendesk.models import Profile, User, UserCreateBody, UserUpdateBody, Webhook
from simulator.zendesk.paging import paginate
from simulator.zendesk.resource import SuncoResource

# The confirmation type that links a client at once (client:update to active); the others stay pending.
IMMEDIATE = "immediate"


class SuncoUsersApi(SuncoResource):
    """Route handlers for users, clients, devices, personal information and sync."""

    def routes(self) -> list[Route]:
        r = self.builder.route
        user = "/users/{user_id}"
        return [
            r("/users", self.create_user, "POST", "CreateUser"),
            r("/users", self.list_users, "GET", "ListUsers"),
            r(user, self.get_user, "GET", "GetUser"),
            r(user, self.update_user, "PATCH", "UpdateUser"),
            r(user, self.delete_user, "DELETE", "DeleteUser"),
            r(user + "/clients", self.create_client, "POST", "CreateClient"),
            r(user + "/clients", self.list_clients, "GET", "ListClients"),
            r(user + "/clients/{client_id}", self.remove_client, "DELETE", "RemoveClient"),
            r(user + "/devices", self.list_devices, "GET", "ListDevices"),
            r(user + "/devices/{device_id}", self.get_device, "GET", "GetDevice"),
            r(
                user + "/personalinformation",
                self.delete_personal_information,
                "DELETE",
                "DeleteUserPersonalInformation",
            ),
            r("/users/{zendesk_id}/sync", self.sync_user, "POST", "SyncUser"),
        ]

    def _user(self, request: Request) -> User:
        return self.conversations.user(request.path_params["user_id"])

    # --- users ---------------------------------------------------------------------------

    async def create_user(self, request: Request, body: Any) -> Response:
        user = self.conversations.create_user(parse(UserCreateBody, body))
        return ok({"user": user.wire()}, 201)

    async def list_users(self, request: Request, body: Any) -> Response:
        """ListUsers needs `filter[identities.email]`; no user with that email is a 404."""
        email = request.query_params.get("filter[identities.email]")
        if not email:
            raise SuncoError(400, "filter[identities.email]: is required")
        found = [
            u.wire()
            for u in self.state.all_users()
            if any(i.get("type") == "email" and str(i.get("value", "")).lower() == email.lower() for i in u.identities)
        ]
        if not found:
            raise not_found("User")
        return ok({"users": found})

    async def get_user(self, request: Request, body: Any) -> Response:
        return ok({"user": self._user(request).wire()})

    async def update_user(self, request: Request, body: Any) -> Response:
        user = self._user(request)
        update = parse(UserUpdateBody, body)
        if update.external_id and update.external_id != user.external_id and self.state.find_user(update.external_id):
            raise SuncoError(409, "A user with this externalId already exists")
        changes: dict[str, Any] = {}
        for name in ("external_id", "signed_up_at", "to_be_retained", "metadata"):
            if getattr(update, name) is not None:
                changes[name] = getattr(update, name)
        if update.profile is not None:
            changes["profile"] = user.profile.model_copy(update=update.profile.model_dump(exclude_none=True))
        updated = self.conversations.update_user(user.model_copy(update=changes))
        return ok({"user": updated.wire()})

    async def delete_user(self, request: Request, body: Any) -> Response:
        self.conversations.delete_user(self._user(request))
        return ok({})

    async def delete_personal_information(self, request: Request, body: Any) -> Response:
        """Profile, metadata and identities go; the user record (and its conversations) stays."""
        user = self._user(request)
        cleared = user.model_copy(update={"profile": Profile(), "metadata": {}, "identities": []})
        self.state.users[user.id] = cleared
        for client in self.state.clients.get(user.id, []):
            client.update(displayName=None, avatarUrl=None, info=None, raw=None)
        return ok({"user": cleared.wire()})

    async def sync_user(self, request: Request, body: Any) -> Response:
        """SyncUser: the messaging user whose Zendesk id (or id) is given; the emulator has no core users."""
        zendesk_id = request.path_params["zendesk_id"]
        user = next((u for u in self.state.all_users() if zendesk_id in (u.zendesk_id, u.id)), None)
        if user is None:
            raise not_found("User")
        return ok({"user": user.wire()})

    # --- clients and devices -------------------------------------------------------------

    async def create_client(self, request: Request, body: Any) -> Response:
        """Link a channel: the match criteria's integration must exist and be of that type."""
        user = self._user(request)
        criteria, confirmation = body["matchCriteria"], body["confirmation"]
        target = body["target"]["conversationId"]
        integration = self.state.integrations.get(criteria["integrationId"])
        if integration is None:
            raise not_found("Integration")
        if integration.type != criteria["type"]:
            raise SuncoError(400, f"matchCriteria.type: the integration is of type {integration.type}")
        if target not in self.state.conversations or user.id not in self.state.participants.get(target, []):
            raise SuncoError(400, "target.conversationId: not a conversation of this user")
        client = {
            "id": new_id(),
            "type": criteria["type"],
            "status": "pending",
            "integrationId": integration.id,
            "externalId": _external_id(criteria),
            "lastSeen": self.conversations.now(),
            "linkedAt": None,
            "displayName": None,
            "avatarUrl": None,
            "info": None,
            "raw": None,
        }
        self.state.clients.setdefault(user.id, []).append(client)
        bus = self.conversations.bus
        linked_to = self.state.conversations[target].truncated()
        bus.emit_app("client:add", _client_event(user, client, "channelLinking", linked_to), f"user:{user.id}")
        created = dict(client)  # SunCo answers with the client as created: pending
        if confirmation["type"] == IMMEDIATE:
            # Nothing to confirm: the link completes at once, as `client:update` tells.
            client.update(status="active", linkedAt=self.conversations.now())
            bus.emit_app("client:update", _client_event(user, client, "confirmed", linked_to), f"user:{user.id}")
        return ok({"client": created}, 201)

    async def list_clients(self, request: Request, body: Any) -> Response:
        user = self._user(request)
        page, meta, links = paginate(request, self.state.clients.get(user.id, []), lambda c: str(c["id"]))
        return ok({"clients": page, "meta": meta, "links": links})

    async def remove_client(self, request: Request, body: Any) -> Response:
        user = self._user(request)
        clients = self.state.clients.get(user.id, [])
        client = next((c for c in clients if c["id"] == request.path_params["client_id"]), None)
        if client is None:
            raise not_found("Client")
        clients.remove(client)
        self.conversations.bus.emit_app("client:remove", _client_event(user, client, "api"), f"user:{user.id}")
        return ok({})

    async def list_devices(self, request: Request, body: Any) -> Response:
        """Devices come from the Web/iOS/Android SDKs, which the emulator does not run: always empty."""
        user = self._user(request)
        return ok({"devices": list(self.state.devices.get(user.id, []))})

    async def get_device(self, request: Request, body: Any) -> Response:
        user = self._user(request)
        device = next(
            (d for d in self.state.devices.get(user.id, []) if d["id"] == request.path_params["device_id"]), None
        )
        if device is None:
            raise not_found("Device")
        return ok({"device": device})


def _external_id(criteria: dict[str, Any]) -> str | None:
    for key in ("phoneNumber", "address"):
        if criteria.get(key):
            return str(criteria[key])
    return None


def _client_event(
    user: User, client: dict[str, Any], reason: str, conversation: dict[str, Any] | None = None
) -> PayloadBuilder:
    """`client:add` / `client:update` / `client:remove`: the client, its user, why, and the conversation."""
    snapshot = dict(client)

    def build(hook: Webhook) -> dict[str, Any]:
        payload = {"client": dict(snapshot), "user": user_for(hook, user), "reason": reason}
        if conversation is not None:
            payload["conversation"] = dict(conversation)
        return payload

    return build
