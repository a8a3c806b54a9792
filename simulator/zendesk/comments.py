"""A messaging ticket's comments as the Support API lists them: the conversation, then private notes."""

from __future__ import annotations

import html
from typing import Any

from simulator.zendesk.ticket import VIA, Ticket
from simulator.zendesk.workspace import AgentWorkspace

SYSTEM_AUTHOR = -1  # bot and other business messages that no Zendesk agent wrote


def ticket_comments(ticket: Ticket, workspace: AgentWorkspace) -> list[dict[str, Any]]:
    """Every transcript line (public) and every private note, oldest first, in Zendesk's comment shape."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for line in ticket.transcript:
        if line["author_type"] == "user":
            author = ticket.requester_id
        elif line["source_type"] == "zd:agentWorkspace" and line.get("author_name"):
            author = workspace.agent_id(line["author_name"])
        else:
            author = SYSTEM_AUTHOR
        rows.append((line["received"], _comment(author, line["text"], True, line["received"])))
    for note in ticket.comments:
        if not note["public"]:
            rows.append(
                (note.get("created_at", ""), _comment(note["author_id"], note["body"], False, note.get("created_at")))
            )
    rows.sort(key=lambda row: row[0])
    return [{"id": ticket.id * 100_000 + index + 1, **row} for index, (_, row) in enumerate(rows)]


def _comment(author_id: int | None, body: str, public: bool, created_at: str | None) -> dict[str, Any]:
    created = (created_at or "")[:19] + "Z" if created_at else None
    return {
        "type": "Comment",
        "author_id": author_id if author_id is not None else SYSTEM_AUTHOR,
        "body": body,
        "html_body": f'<div class="zd-comment"><p>{html.escape(body)}</p></div>',
        "plain_body": body,
        "public": public,
        "attachments": [],
        "via": {"channel": VIA["channel"]},
        "metadata": {},
        "created_at": created,
    }
