"""Splitting a long user message into parts SunCo accepts (text content is limited to 4,096 characters)."""

from __future__ import annotations

import re
import unicodedata

SUNCO_TEXT_LIMIT = 4096
# Where a cut reads best, best first: a paragraph, a line, a sentence, a word.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?…。！？]\s+"), re.compile(r"\s+"))
# A cut this far into the allowed length is good enough; earlier ones would make tiny parts.
_MIN_FILL = 0.5
_JOINED = "\u200d\ufe0e\ufe0f"


def split_text(text: str, limit: int = SUNCO_TEXT_LIMIT) -> list[str]:
    """`text` in order, in parts of at most `limit` characters, cut at the best boundary available.

    Joining the parts with the whitespace that was cut gives the text back; parts are never empty.
    """
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut, resume = _cut(rest, limit)
        parts.append(rest[:cut])
        rest = rest[resume:]
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut(text: str, limit: int) -> tuple[int, int]:
    """(end of this part, start of the next) for the best boundary within `limit` characters."""
    window = text[: limit + 1]
    for boundary in _BOUNDARIES:
        best: tuple[int, int] | None = None
        for match in boundary.finditer(window):
            # A sentence keeps its punctuation; the whitespace after it is dropped at the cut.
            end = match.start() + len(match.group().rstrip()) if boundary.pattern.startswith("[") else match.start()
            if 0 < end <= limit:
                best = (end, match.end())
        if best is not None and best[0] >= limit * _MIN_FILL:
            return best
    cut = limit
    # No word boundary at all: a hard cut, but never between a character and the marks that
    # modify it (accents, emoji joiners and variation selectors).
    while cut > limit // 2 and (unicodedata.combining(text[cut]) or text[cut] in _JOINED or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut, cut
