"""SunCo REST v2: conversations, messages and activities."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.durable import GrowingList
from simulator.zendesk.content import check_content
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.http import ok, parse
from simulator.zendesk.models import (
    ActivityPostBody,
    ConversationCreateBody,
    ConversationUpdateBody,
    Message,
    MessagePostBody,
    Source,
)
from simulator.zendesk.paging import base_url, cursors, paginate
from simulator.zendesk.resource import SuncoResource

PAGE_SIZE = 100  # ListMessages: fixed at 100 per page, the newest page by default (page[size] is ignored)
# The source of every message posted through the API: one for all (a stored message is never changed in place).
API_SOURCE = Source(type="api:conversations")


class SuncoApi(SuncoResource):
    """Route handlers for conversations, messages and activities."""

    def routes(self) -> list[Route]:
        r = self.builder.route
        conv = "/conversations/{conversation_id}"
        return [
            r("/conversations", self.create_conversation, "POST", "CreateConversation"),
            r("/conversations", self.list_conversations, "GET", "ListConversations"),
            r(conv, self.get_conversation, "GET", "GetConversation"),
            r(conv, self.update_conversation, "PATCH", "UpdateConversation"),
            r(conv, self.delete_conversation, "DELETE", "DeleteConversation"),
            r(conv + "/messages", self.post_message, "POST", "PostMessage"),
            r(conv + "/messages", self.list_messages, "GET", "ListMessages"),
            r(conv + "/messages", self.delete_all_messages, "DELETE", "DeleteAllMessages"),
            r(conv + "/messages/{message_id}", self.delete_message, "DELETE", "DeleteMessage"),
            r(conv + "/activity", self.post_activity, "POST", "PostActivity"),
        ]

    # --- conversations -------------------------------------------------------------------

    async def create_conversation(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.create_conversation(parse(ConversationCreateBody, body))
        return ok({"conversation": conversation.wire()}, 201)

    async def list_conversations(self, request: Request, body: Any) -> Response:
        """Conversations of one user (filter[userId] or filter[userExternalId]; unknown user: 404), paged."""
        query = request.query_params
        who = query.get("filter[userId]") or query.get("filter[userExternalId]")
        if not who:
            raise SuncoError(400, "filter[userId]: filter[userId] or filter[userExternalId] is required")
        user = self.conversations.user(who)
        found = [
            conversation
            for cid in self.state.conversation_ids_of(user.id)
            if (conversation := self.state.conversations.get(cid)) is not None
        ]
        page, meta, links = paginate(request, found, lambda c: c.id)
        return ok({"conversations": [c.wire() for c in page], "meta": meta, "links": links})

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
        if conversation.is_default:
            raise SuncoError(400, "conversationId: the default conversation cannot be deleted (its messages can)")
        self.conversations.delete_conversation(conversation)
        return ok({})

    # --- messages and activity -----------------------------------------------------------

    async def post_message(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        body = {**body, "content": check_content(body["content"], body["author"]["type"])}
        destination = body.get("destination") or {}
        if destination.get("integrationId") and destination["integrationId"] not in self.state.integrations:
            raise SuncoError(400, "destination.integrationId: no such integration")
        post = parse(MessagePostBody, body)
        # Messages posted through the API carry this source and no integrationId, as SunCo's examples show.
        message = await self.conversations.post_message(
            conversation, post.author, post.content, API_SOURCE, post.metadata
        )
        return ok({"messages": [message.wire()]}, 201)

    async def list_messages(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        messages = self.state.messages.get(conversation.id, [])
        before, after = cursors(request)
        start, end, has_more = _page(messages, before, after, PAGE_SIZE)
        page = messages[start:end]
        meta: dict[str, Any] = {"hasMore": has_more}
        links: dict[str, str] = {}
        base = base_url(request)
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
        self.state.messages[conversation.id] = GrowingList()
        return ok({})

    async def delete_message(self, request: Request, body: Any) -> Response:
        """DeleteMessage: the message goes from the conversation's history."""
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        messages = self.state.messages.get(conversation.id, [])
        message = next((m for m in messages if m.id == request.path_params["message_id"]), None)
        if message is None:
            raise not_found("Message")
        messages.remove(message)
        return ok({})

    async def post_activity(self, request: Request, body: Any) -> Response:
        conversation = self.conversations.conversation(request.path_params["conversation_id"])
        activity = parse(ActivityPostBody, body)
        source = {"type": "api:conversations"}
        self.conversations.post_activity(conversation, activity.type, activity.author, source)
        return ok({})


def _page(messages: list[Message], before: str | None, after: str | None, size: int) -> tuple[int, int, bool]:
    """Backwards cursor paging over messages (oldest first): the newest page by default.

    Returns the slice bounds and `hasMore` in the direction being paged.
    """
    if after:
        start = _position(messages, after, "page[after]") + 1
        end = min(len(messages), start + size)
        return start, end, end < len(messages)
    end = len(messages)
    if before:
        end = _position(messages, before, "page[before]")
    start = max(0, end - size)
    return start, end, start > 0


def _position(messages: list[Message], cursor: str, name: str) -> int:
    """Where the message with id `cursor` is, looked for from the newest (a reader asking what came
    after its last message names one near the end: not a walk over the whole history each time)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].id == cursor:
            return index
    raise SuncoError(400, f"{name}: unknown cursor")
