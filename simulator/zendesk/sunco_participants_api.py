"""SunCo REST v2: a conversation's participants (list, join, leave) and `conversation:join` / `:leave`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.zendesk import app_events
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import ok
from simulator.zendesk.models import Conversation, User
from simulator.zendesk.paging import paginate
from simulator.zendesk.resource import SuncoResource

MAX_GROUP_PARTICIPANTS = 10_000


class SuncoParticipantsApi(SuncoResource):
    """ListParticipants, JoinConversation, LeaveConversation."""

    def routes(self) -> list[Route]:
        r = self.builder.route
        conv = "/conversations/{conversation_id}"
        return [
            r(conv + "/participants", self.list_participants, "GET", "ListParticipants"),
            r(conv + "/join", self.join, "POST", "JoinConversation"),
            r(conv + "/leave", self.leave, "POST", "LeaveConversation"),
        ]

    def _conversation(self, request: Request) -> Conversation:
        return self.conversations.conversation(request.path_params["conversation_id"])

    def _participant_json(self, conversation: Conversation, user: User) -> dict[str, Any]:
        out: dict[str, Any] = {"id": user.id, "userId": user.id, "unreadCount": 0, "clientAssociations": []}
        if user.external_id:
            out["userExternalId"] = user.external_id
        out["clientAssociations"] = [
            {"type": c["type"], "clientId": c["id"]} for c in self.state.clients.get(user.id, [])
        ]
        return out

    async def list_participants(self, request: Request, body: Any) -> Response:
        conversation = self._conversation(request)
        users = [
            self.state.users[uid] for uid in self.state.participants.get(conversation.id, []) if uid in self.state.users
        ]
        page, meta, links = paginate(request, users, lambda u: u.id)
        participants = [self._participant_json(conversation, u) for u in page]
        return ok({"participants": participants, "meta": meta, "links": links})

    async def join(self, request: Request, body: Any) -> Response:
        """Only `sdkGroup` conversations take new participants."""
        conversation = self._conversation(request)
        who = body.get("userId") or body.get("userExternalId")
        if not who:
            raise SuncoError(400, "userId: userId or userExternalId is required")
        user = self.conversations.user(who)
        if conversation.type != "sdkGroup":
            raise SuncoError(400, "conversation: participants can only join sdkGroup conversations")
        members = self.state.participants.setdefault(conversation.id, [])
        if user.id in members:
            raise SuncoError(400, "userId: the user is already a participant")
        if len(members) >= MAX_GROUP_PARTICIPANTS:
            raise SuncoError(400, f"participants: a conversation has at most {MAX_GROUP_PARTICIPANTS}")
        members.append(user.id)
        self.conversations.bus.emit(
            conversation, "conversation:join", app_events.conversation_member(conversation, user)
        )
        return ok({"participant": self._participant_json(conversation, user)}, 201)

    async def leave(self, request: Request, body: Any) -> Response:
        """Exactly one of userId, userExternalId, participantId; only from `sdkGroup` conversations."""
        conversation = self._conversation(request)
        given = [k for k in ("userId", "userExternalId", "participantId") if body.get(k)]
        if len(given) != 1:
            raise SuncoError(400, "body: exactly one of userId, userExternalId or participantId is required")
        user = self.state.find_user(body[given[0]])
        members = self.state.participants.get(conversation.id, [])
        if user is None or user.id not in members:
            raise not_found("Participant")
        if conversation.type != "sdkGroup":
            raise SuncoError(400, "conversation: participants can only leave sdkGroup conversations")
        members.remove(user.id)
        self.conversations.bus.emit(
            conversation, "conversation:leave", app_events.conversation_member(conversation, user)
        )
        return ok({})
