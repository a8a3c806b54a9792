"""Carrier segmenting: GSM-7 and UCS-2 boundaries, extension characters, emoji."""

from __future__ import annotations

from simulator.widget.segments import encoding_for, length, split


def test_gsm7_single_segment_up_to_160() -> None:
    assert split("a" * 160).parts == ("a" * 160,)
    assert split("a" * 160).encoding == "GSM-7"
    assert split("").count == 1


def test_gsm7_161_chars_make_two_parts_of_153() -> None:
    message = split("a" * 161)
    assert message.count == 2
    assert [len(part) for part in message.parts] == [153, 8]
    assert split("a" * 306).count == 2 and split("a" * 307).count == 3


def test_gsm7_extension_characters_count_two_and_are_not_split() -> None:
    assert encoding_for("price: 5€ {ok} [x] ~ | ^ \\") == "GSM-7"
    assert length("€") == 2
    assert split("€" * 80).count == 1  # 160 septets
    assert split("€" * 80 + "a").count == 2
    # 152 septets then a 2-septet char: it moves whole to the next part.
    message = split("a" * 152 + "€" + "b" * 10)
    assert message.parts == ("a" * 152, "€" + "b" * 10)


def test_gsm7_basic_accents_stay_gsm7() -> None:
    assert encoding_for("Ça va? Ñoño, Øre, ß, É, ü, à, ò, ¿¡") == "GSM-7"


def test_ucs2_when_any_char_is_outside_gsm7() -> None:
    assert encoding_for("Connecting you to an agent…") == "UCS-2"
    assert encoding_for("Ñandú") == "UCS-2"  # ú is not in GSM-7
    assert split("ç" * 70).count == 1  # ç (lower case) is not in GSM-7
    assert split("ç" * 70).encoding == "UCS-2"
    message = split("ç" * 71)
    assert [len(part) for part in message.parts] == [67, 4]
    assert split("ç" * 134).count == 2 and split("ç" * 135).count == 3


def test_emoji_take_two_units_and_are_never_split() -> None:
    assert length("😀") == 2
    assert split("😀" * 35).count == 1  # 70 code units
    assert split("😀" * 36).count == 2
    message = split("a" * 66 + "😀" + "bbb")
    assert message.parts == ("a" * 66, "😀bbb")
    assert all(length(part, "UCS-2") <= 67 for part in split("😀x" * 100).parts)
    assert "".join(split("😀x" * 100).parts) == "😀x" * 100
