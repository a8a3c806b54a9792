"""Message content rules the spec states in prose (beyond its schemas), and rich text as SunCo stores it."""

from __future__ import annotations

import html
import re
from typing import Any

from simulator.zendesk.errors import SuncoError

TEXT_LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<!\*)\*(?!\*)(.+?)(?<!\*)\*(?!\*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def check_content(content: dict[str, Any], author_type: str) -> dict[str, Any]:
    """Rules from the spec's descriptions; returns the content as SunCo stores it.

    * text: one of `text`, `htmlText`, `markdownText` or `actions`; not both rich forms; markdown becomes
      `htmlText` (rejected if that exceeds 4096 characters) and either gives a plain `text` when absent.
    * formResponse messages are made by SunCo when a user submits a form, never posted by a business.
    """
    kind = content.get("type")
    out = dict(content)
    for read_only in ("mediaType", "mediaSize", "submitted"):
        out.pop(read_only, None)
    if kind == "text":
        if not any(out.get(k) for k in ("text", "htmlText", "markdownText", "actions")):
            raise SuncoError(400, "content.text: text is required unless actions, htmlText or markdownText is given")
        if out.get("htmlText") and out.get("markdownText"):
            raise SuncoError(400, "content.markdownText: cannot be used together with htmlText")
        if out.get("markdownText"):
            converted = markdown_to_html(out.pop("markdownText"))
            if len(converted) > TEXT_LIMIT:
                raise SuncoError(400, f"content.markdownText: converted htmlText exceeds {TEXT_LIMIT} characters")
            out["htmlText"] = converted
        if not out.get("text") and out.get("htmlText"):
            out["text"] = html_to_text(out["htmlText"])
    if kind == "formResponse" and author_type != "user":
        raise SuncoError(400, "content.type: formResponse messages can only be authored by a user")
    if kind in ("carousel", "list"):
        for index, item in enumerate(out.get("items", [])):
            if item.get("mediaUrl") and not re.match(r"^https?://", item["mediaUrl"]):
                raise SuncoError(400, f"content.items.{index}.mediaUrl: must be an http(s) URL")
    return out


def markdown_to_html(markdown: str) -> str:
    """The small Markdown subset SunCo documents (headings, bold, italics, links, paragraphs) as HTML."""
    blocks = []
    for line in markdown.splitlines():
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        else:
            blocks.append(f"<p>{_inline(line)}</p>")
    return "".join(blocks)


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = _LINK.sub(lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _EM.sub(r"<em>\1</em>", text)


def html_to_text(markup: str) -> str:
    """Plain text for channels without rich text: tags dropped, blocks on their own lines."""
    spaced = re.sub(r"</(p|h[1-6]|li|div)>|<br\s*/?>", "\n", markup, flags=re.IGNORECASE)
    lines = [html.unescape(_TAG.sub("", line)).strip() for line in spaced.splitlines()]
    return "\n".join(line for line in lines if line)
