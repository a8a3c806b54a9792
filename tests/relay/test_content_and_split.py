"""Agent content in the widget's closest form, and long user messages cut where they read best."""

from __future__ import annotations

from simulator.relay.content import to_chat
from simulator.relay.split import split_text


def test_every_content_type_reaches_the_user_in_some_form() -> None:
    text = to_chat(
        {
            "type": "text",
            "text": "Pick one",
            "actions": [
                {"type": "reply", "text": "Yes", "payload": "y"},
                {"type": "link", "text": "Help", "uri": "https://help.example.test"},
            ],
        }
    )
    assert text.text == "Pick one" and text.suggestions == ["Yes"]
    assert [card["content_url"] for card in text.attachments] == ["https://help.example.test"]
    fields = [{"type": "text", "label": "Order", "text": "42"}, {"name": "email", "email": "a@b.test"}]
    answers = to_chat({"type": "formResponse", "fields": fields})
    assert answers.text == "Order: 42\nemail: a@b.test"
    assert to_chat({"type": "template"}).text == "The agent sent a template message."
    assert to_chat({"type": "list", "items": []}).attachments == []
    unknown = to_chat({"type": "video", "mediaUrl": "https://cdn.example.test/clip.mp4"})
    assert unknown.text and unknown.attachments[0]["content_url"] == "https://cdn.example.test/clip.mp4"


def test_a_long_message_is_cut_at_paragraphs_then_sentences_then_words_and_nothing_is_lost() -> None:
    first, second = "First paragraph. " * 150, "Second one goes on. " * 300
    text = first.strip() + "\n\n" + second.strip()
    parts = split_text(text)
    assert all(0 < len(part) <= 4096 for part in parts)
    assert parts[0] == first.strip()  # the paragraph end, not a cut mid-sentence
    assert all(part.endswith(".") for part in parts)
    assert "\n\n".join([parts[0], " ".join(parts[1:])]) == text
    words = split_text("word " * 2000)
    assert all(not part.startswith(" ") and not part.endswith(" ") for part in words[:-1])
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]  # no boundary at all: a hard cut
    assert split_text("e\u0301" * 3000)[0][-1] == "\u0301"  # never between a letter and its accent
