"""How carriers split an SMS into segments: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67 per part).

Pure functions, no I/O. GSM-7 extension-table characters (`^{}\\[~]|€` and form feed) take
two septets and are never split from their escape; UCS-2 counts UTF-16 code units, so an
emoji takes two and a surrogate pair is never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class Segmented:
    """A message as the carrier sends it."""

    encoding: Encoding
    parts: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.parts)


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM 03.38 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding_for(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def unit_length(ch: str, encoding: Encoding) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) one character takes."""
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def length(text: str, encoding: Encoding | None = None) -> int:
    """The message's length in its encoding's units."""
    enc = encoding or encoding_for(text)
    return sum(unit_length(ch, enc) for ch in text)


def split(text: str) -> Segmented:
    """Split `text` into carrier segments. An empty message is one empty segment."""
    encoding = encoding_for(text)
    single, multi = LIMITS[encoding]
    if length(text, encoding) <= single:
        return Segmented(encoding, (text,))
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        size = unit_length(ch, encoding)
        if used + size > multi:  # a 2-unit character that doesn't fit moves whole to the next part
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += size
    if current:
        parts.append("".join(current))
    return Segmented(encoding, tuple(parts))
