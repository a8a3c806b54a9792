"""An agent's SunCo message content in the closest form the chat widget can show.

The widget protocol has text, attachment cards (`{title, preview_image_url, content_url,
content_type, call_to_action_text}`) and response suggestions. Every SunCo content type maps
onto those; nothing an agent sends is dropped:

=============  ==================================================================
SunCo type     what the user gets
=============  ==================================================================
text           the text; link actions as cards, reply actions as suggestions
image          the caption, and an image card
file           the caption, and a link card named after the file
carousel/list  the text, and one card per item (its image, its first link)
location       the place's name and address, and a map link card
form           the text, and the questions to answer in the chat
formResponse   the answers, one per line
anything else  its text, or a line saying what kind of message the agent sent
=============  ==================================================================
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlparse

from pydantic import BaseModel, Field

IMAGE = "ATTACHMENT_CONTENT_TYPE_IMAGE"
URL = "ATTACHMENT_CONTENT_TYPE_URL"
MAPS_URL = "https://www.google.com/maps/search/?api=1&query={query}"


class ChatContent(BaseModel):
    """What the end user sees for one agent message."""

    text: str = ""
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)


def card(title: str, url: str | None, *, image: str | None = None, action: str = "Open") -> dict[str, Any]:
    """One attachment card; an image card when `image` is the content itself."""
    return {
        "title": title,
        "preview_image_url": image,
        "content_url": url,
        "content_type": IMAGE if image is not None and image == url else URL,
        "call_to_action_text": action,
    }


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _file_name(url: str) -> str:
    name = urlparse(url).path.rsplit("/", 1)[-1]
    return name or "File"


def _actions(actions: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Link (and webview) actions as cards; reply and postback actions as suggestions."""
    cards: list[dict[str, Any]] = []
    suggestions: list[str] = []
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict):
            continue
        label = _text(action.get("text"))
        if action.get("type") in ("link", "webview") and _text(action.get("uri")):
            cards.append(card(label or "Open", _text(action.get("uri")), action=label or "Open"))
        elif action.get("type") in ("reply", "postback") and label:
            suggestions.append(label)
    return cards, suggestions


def _items(items: Any) -> list[dict[str, Any]]:
    cards = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        title = " - ".join(part for part in (_text(item.get("title")), _text(item.get("description"))) if part)
        links, _ = _actions(item.get("actions"))
        media = _text(item.get("mediaUrl")) or None
        url = links[0]["content_url"] if links else media
        action = links[0]["call_to_action_text"] if links else "Open"
        entry = card(title or "Item", url, image=media, action=action)
        entry["content_type"] = URL if links else entry["content_type"]
        cards.append(entry)
    return cards


def to_chat(content: dict[str, Any]) -> ChatContent:
    """Map one SunCo `content` object (as JSON) to what the chat widget shows."""
    kind = str(content.get("type") or "")
    text = _text(content.get("text"))
    media = _text(content.get("mediaUrl"))
    alt = _text(content.get("altText"))
    if kind == "text":
        cards, suggestions = _actions(content.get("actions"))
        return ChatContent(text=text, attachments=cards, suggestions=suggestions)
    if kind == "image" and media:
        return ChatContent(text=text, attachments=[card(alt or "Image", media, image=media)])
    if kind == "file" and media:
        return ChatContent(text=text, attachments=[card(alt or _file_name(media), media, action="Download")])
    if kind in ("carousel", "list"):
        cards = _items(content.get("items"))
        extra, suggestions = _actions(content.get("actions"))
        return ChatContent(text=text, attachments=cards + extra, suggestions=suggestions)
    if kind == "location":
        return _location(content, text)
    if kind == "form":
        return ChatContent(text=_form(content, text))
    if kind == "formResponse":
        return ChatContent(text=_form_response(content, text))
    shown = text or alt or (f"The agent sent a {kind} message." if kind else "The agent sent a message.")
    attachments = [card(alt or _file_name(media), media)] if media else []
    return ChatContent(text=shown, attachments=attachments)


def _location(content: dict[str, Any], text: str) -> ChatContent:
    coordinates = _dict(content.get("coordinates"))
    place = _dict(content.get("location"))
    name, address = _text(place.get("name")), _text(place.get("address"))
    lines = [line for line in (text, name, address) if line]
    lat, long = coordinates.get("lat"), coordinates.get("long")
    cards = []
    if isinstance(lat, int | float) and isinstance(long, int | float):
        cards.append(card(name or "Location", MAPS_URL.format(query=f"{lat},{long}"), action="Open map"))
    elif address:
        cards.append(card(name or "Location", MAPS_URL.format(query=quote(address)), action="Open map"))
    return ChatContent(text="\n".join(dict.fromkeys(lines)) or "The agent shared a location.", attachments=cards)


def _form(content: dict[str, Any], text: str) -> str:
    questions = []
    for field in _list(content.get("fields")):
        if not isinstance(field, dict):
            continue
        label = _text(field.get("label")) or _text(field.get("name")) or "?"
        options = [_text(option.get("label")) for option in field.get("options") or [] if isinstance(option, dict)]
        choice = f" ({' / '.join(o for o in options if o)})" if any(options) else ""
        questions.append(f"- {label}{choice}")
    intro = text or "The agent asks:"
    return "\n".join([intro, *questions]) if questions else intro


def _form_response(content: dict[str, Any], text: str) -> str:
    answers = []
    for field in _list(content.get("fields")):
        if not isinstance(field, dict):
            continue
        label = _text(field.get("label")) or _text(field.get("name")) or "?"
        value = field.get("text") or field.get("email")
        if value is None and isinstance(field.get("select"), list):
            value = ", ".join(_text(o.get("label")) for o in field["select"] if isinstance(o, dict))
        answers.append(f"{label}: {value if value is not None else ''}")
    return "\n".join([text, *answers] if text else answers) or "The agent sent a form response."
