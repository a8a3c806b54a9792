"""Finished conversations leave memory; SunCo and Zendesk still answer for them.

A conversation is finished when its ticket is solved or closed. With a state file, its SunCo
user, conversation, participants, messages, clients, devices and its tickets leave memory after
the next commits: they stay in the file, and a read by id (GET a solved ticket, list the
conversation's messages, the workspace's ticket list) is answered from it. Used again (a returning
user, a late message), an entry comes back into memory and leaves again after it. Memory keeps only
what finds them: externalId -> user id, user id -> conversation ids, conversation -> ticket ids.

Without a state file (tests, `--ephemeral`) nothing can be read back: the newest
`SIM_ENDED_RETENTION` finished conversations stay in memory, older ones are forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from simulator.durable import evict, keep
from simulator.zendesk.state import AppState
from simulator.zendesk.workspace import AgentWorkspace

FINISHED_STATUSES = ("solved", "closed")


def _conversation_tables(state: AppState) -> list[dict[str, Any]]:
    return [state.conversations, state.participants, state.messages]


def _user_tables(state: AppState) -> list[dict[str, Any]]:
    return [state.users, state.clients, state.devices]


class Retention:
    """Decides what of a finished conversation stays in memory."""

    def __init__(self, state: AppState, workspace: AgentWorkspace, *, persistent: bool, keep: int) -> None:
        self.state = state
        self.workspace = workspace
        self.persistent = persistent
        self.keep = keep
        # Memory only: the finished conversations still kept, oldest first.
        self._finished: OrderedDict[str, None] = OrderedDict()

    def finished(self, conversation_id: str) -> None:
        """The conversation's ticket was solved or closed."""
        if self.persistent:
            self._evict(conversation_id)
            return
        self._finished[conversation_id] = None
        self._finished.move_to_end(conversation_id)
        while len(self._finished) > self.keep:
            oldest, _ = self._finished.popitem(last=False)
            self._forget(oldest)

    def revived(self, conversation_id: str) -> None:
        """A finished conversation is live again (control back with the agent workspace, a ticket reopened)."""
        if not self.persistent:
            self._finished.pop(conversation_id, None)
            return
        for table, key in self._records(conversation_id):
            keep(table, key)

    def _evict(self, conversation_id: str) -> None:
        state = self.state
        for user_id in state.participants.get(conversation_id) or []:
            user = state.users.get(user_id)
            if user is not None and user.external_id:
                state.archived_external_ids[user.external_id] = user_id
            archived = state.archived_conversations.setdefault(user_id, [])
            if conversation_id not in archived:
                archived.append(conversation_id)
        for table, key in self._records(conversation_id):
            evict(table, key)

    def _records(self, conversation_id: str) -> Iterator[tuple[dict[Any, Any], Any]]:
        """(table, key) of everything kept about a conversation: its users, its own tables, its tickets."""
        state = self.state
        for user_id in state.participants.get(conversation_id) or []:
            for users in _user_tables(state):
                yield users, user_id
        for table in _conversation_tables(state):
            yield table, conversation_id
        for ticket_id in self.workspace.by_conversation.get(conversation_id, []):
            yield self.workspace.tickets, ticket_id

    def _forget(self, conversation_id: str) -> None:
        """Memory only, past the retention: the conversation, its tickets, and users left with no other."""
        state = self.state
        members = state.participants.pop(conversation_id, None) or []
        state.conversations.pop(conversation_id, None)
        state.messages.pop(conversation_id, None)
        self.workspace.forget(conversation_id)
        for user_id in members:
            if state.conversation_ids_of(user_id):
                continue
            user = state.users.pop(user_id, None)
            state.clients.pop(user_id, None)
            state.devices.pop(user_id, None)
            state.archived_conversations.pop(user_id, None)
            if user is not None and user.external_id:
                state.archived_external_ids.pop(user.external_id, None)

    def reset(self) -> None:
        self._finished.clear()
