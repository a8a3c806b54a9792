"""SunCo REST v2: users, conversations, messages and activities."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.zendesk.conversations import Conversations
from simulator.zendesk.errors import SuncoError
from simulator.zendesk.http import SuncoRoutes, ok, parse
from simulator.zendesk.models import (
    ActivityPostBody,
    ConversationCreateBody,
    ConversationUpdateBody,
    MessagePostBody,
    Source,
    UserCreateBody,
    UserUpdateBody,
)

PAGE_SIZE = 100  # ListMessages ignores page[size]; SunCo pages messages by 100


class SuncoApi:
    """Route handlers for the data half of the SunCo API."""

    def __init__(self, conversations: Conversations, routes: SuncoRoutes) -> None:
        self.conversations = conversations
        self.state = conversations.state
        self.builder = routes

    def routes(self) -> list[Route]:
        r = self.builder.route
        return [
            r("/users", self.create_user, "POST"),
            r("/users", self.list_users, "GET"),
            r("/users/{user_id}", self.get_user, "GET"),
            r("/users/{user_id}", self.update_user, "PATCH"),
            r("/users/{user_id}", self.delete_user, "DELETE"),
            r("/conversations", self.create_conversation, "POST"),
            r("/conversations", self.list_conversations, "GET"),
            r("/conversations/{conversation_id}", self.get_conversation, "GET"),
            r("/conversations/{conversation_id}", self.update_conversation, "PATCH"),
            r("/conversations/{conversation_id}", self.delete_conversation, "DELETE"),
            r("/conversations/{conversation_id}/participants", self.list_participants, "GET"),
            r("/conversations/{conversation_id}/messages", self.post_message, "POST"),
            r("/conversations/{conversation_id}/messages", self.list_messages, "GET"),
            r("/conversations/{conversation_id}/messages", self.delete_all_messages, "DELETE"),
            r("/conversations/{conversation_id}/activity", self.post_activity, "POST"),
        ]

    # --- users ---------------------------------------------------------------------------

    async def create_user(self, request: Request, body: Any) -> Response:
        user = self.conversations.create_user(parse(UserCreateBody, body))
        return ok({"user": user.wire()}, 201)

    async def list_users(self, request: Request, body: Any) -> Response:
        users = [u.wire() for u in self.state.users.values()]
        return ok({"users": users, "meta": {"hasMore": False}, "links": {}})

    async def get_user(self, request: Request, body: Any) -> Response:
        return ok({"user": self.conversations.user(request.path_params["user_id"]).wire()})

    async def update_user(self, request: Request, body: Any) -> Response:
        user = self.conversations.user(request.path_params["user_id"])
        update = parse(UserUpdateBody, body)
        if update.external_id and update.external_id != user.external_id and self.state.find_user(update.external_id):
            raise SuncoError(409, "A user with this externalId already exists")
        changes: dict[str, Any] = {}
        for name in ("external_id", "signed_up_at", "to_be_retained", "metadata"):
            if getattr(update, name) is not None:
                changes[name] = getattr(update, name)
        if update.profile is not None:
            changes["profile"] = user.profile.model_copy(update=update.profile.model_dump(exclude_none=True))
        updated = user.model_copy(update=changes)
        self.state.users[user.id] = updated
        return ok({"user": updated.wire()})

    async def delete_user(self, request: Request, body: Any) -> Response:
        user = self.conversations.user(request.path_params["user_id"])
        del self.state.users[user.id]
        return ok({})

    # --- conversations -------------------------------------------------------------------

    async def create_conversation(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.create_conversation(parse(ConversationCreateBody, body))
        return ok({"conversation": conversation.wire()}, 201)

    async def list_conversations(self, request: Request, body: Any) -> Response:
        query = request.query_params
        who = query.get("filter[userId]") or query.get("filter[userExternalId]")
        if not who:
            raise SuncoError(400, "filter[userId]: filter[userId] or filter[userExternalId] is required")
        user = self.state.find_user(who)
        found = [
            self.state.conversations[cid].wire()
            for cid, members in self.state.participants.items()
            if user is not None and user.id in members and cid in self.state.conversations
        ]
        return ok({"conversations": found, "meta": {"hasMore": False}, "links": {}})

    async def get_conversation(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        return ok({"conversation": conversation.wire()})

    async def update_conversation(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        update = parse(ConversationUpdateBody, body)
        for name in ("display_name", "description", "icon_url", "metadata"):
            if getattr(update, name) is not None:
                setattr(conversation, name, getattr(update, name))
        return ok({"conversation": conversation.wire()})

    async def delete_conversation(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        for table in (self.state.conversations, self.state.participants, self.state.messages):
            table.pop(conversation.id, None)
        return ok({})

    async def list_participants(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        participants = [
            {"id": uid, "userId": uid, "unreadCount": 0}
            for uid in self.state.participants.get(conversation.id, [])
            if uid in self.state.users
        ]
        return ok({"participants": participants, "meta": {"hasMore": False}, "links": {}})

    # --- messages and activity -----------------------------------------------------------

    async def post_message(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        post = parse(MessagePostBody, body)
        # Messages posted through the API carry this source and no integrationId, as SunCo's examples show.
        message = await self.conversations.post_message(
            conversation, post.author, post.content, Source(type="api:conversations"), post.metadata
        )
        return ok({"messages": [message.wire()]}, 201)

    async def list_messages(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        messages = self.state.messages.get(conversation.id, [])
        before, after = request.query_params.get("page[before]"), request.query_params.get("page[after]")
        if before and after:
            raise SuncoError(400, "page: page[before] and page[after] are mutually exclusive")
        start, end, has_more = _page([m.id for m in messages], before, after)
        page = messages[start:end]
        meta: dict[str, Any] = {"hasMore": has_more}
        links: dict[str, str] = {}
        base = str(request.url.replace(query=""))
        if page and start > 0:
            meta["beforeCursor"] = page[0].id
            links["prev"] = base + "?" + urlencode({"page[before]": page[0].id})
        if page and end < len(messages):
            meta["afterCursor"] = page[-1].id
            links["next"] = base + "?" + urlencode({"page[after]": page[-1].id})
        return ok({"messages": [m.wire() for m in page], "meta": meta, "links": links})

    async def delete_all_messages(self, request: Request, body: Any) -> Response:
        """DeleteAllMessages: the conversation stays, its messages go."""
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        self.state.messages[conversation.id] = []
        return ok({})

    async def post_activity(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        activity = parse(ActivityPostBody, body)
        source = {"type": "api:conversations"}
        self.conversations.post_activity(conversation, activity.type, activity.author, source)
        return ok({})


def _page(ids: list[str], before: str | None, after: str | None) -> tuple[int, int, bool]:
    """Backwards cursor paging over message ids (oldest first): the newest page by default.

    Returns the slice bounds and `hasMore` in the direction being paged.
    """
    if after:
        if after not in ids:
            raise SuncoError(400, "page[after]: unknown cursor")
        start = ids.index(after) + 1
        end = min(len(ids), start + PAGE_SIZE)
        return start, end, end < len(ids)
    end = len(ids)
    if before:
        if before not in ids:
            raise SuncoError(400, "page[before]: unknown cursor")
        end = ids.index(before)
    start = max(0, end - PAGE_SIZE)
    return start, end, start > 0
