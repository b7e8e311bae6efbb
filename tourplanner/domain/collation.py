"""Vietnamese alphabetical order, for lists of villages, products and landmarks.

Sorting by code point puts "Đông Hồ" after "Yên Thái" and "Ước Lễ" at the very end; sorting by
slug puts "Ấp" with "Ap". Vietnamese dictionaries order the 29 letters

    a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y

and, between words spelled with the same letters, the tones: none, huyền (à), hỏi (ả), ngã
(ã), sắc (á), nặng (ạ). :func:`vietnamese_key` gives that order (case-insensitive; letters
outside the alphabet, such as f, j, w, z, after the nearest letter; digits and spaces first).

>>> sorted(["Vạn Phúc", "Bát Tràng", "Đông Hồ", "Ước Lễ", "Yên Thái"], key=vietnamese_key)
['Bát Tràng', 'Đông Hồ', 'Ước Lễ', 'Vạn Phúc', 'Yên Thái']
"""

from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
#: Letters Vietnamese does not use, placed right after the letter before them.
FOREIGN = {"f": "e", "j": "i", "w": "v", "z": "y"}
#: Tone marks (combining) in dictionary order; 0 is no tone.
TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
#: Letter marks that make another letter of the alphabet.
MODIFIERS = {"\u0306": "\u0306", "\u0302": "\u0302", "\u031b": "\u031b"}
_RANK = {unicodedata.normalize("NFD", c): 10 * (n + 1) for n, c in enumerate(ALPHABET)}


def _letter_rank(base: str, modifier: str) -> int:
    """Primary weight of one letter: digits and spaces first, then the alphabet."""
    if base.isdigit():
        return 1 + int(base) if base.isascii() else 11
    if not base.isalpha():
        return 0
    rank = _RANK.get(base + modifier) or _RANK.get(base)
    if rank is None and base in FOREIGN:
        rank = _RANK[FOREIGN[base]] + 5
    return rank if rank is not None else 1000 + ord(base)


def vietnamese_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """A sort key in Vietnamese alphabetical order: letters first, then tones, then the text.

    O(len(text)).
    """
    letters: list[int] = []
    tones: list[int] = []
    for char in (text or "").casefold():
        if char == "đ":
            letters.append(_RANK["đ"])
            tones.append(0)
            continue
        parts = unicodedata.normalize("NFD", char)
        base, marks = parts[0], parts[1:]
        modifier = "".join(m for m in marks if m in MODIFIERS)
        letters.append(_letter_rank(base, modifier))
        tones.append(next((TONES[m] for m in marks if m in TONES), 0))
    return tuple(letters), tuple(tones), text or ""
