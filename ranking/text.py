"""Text folding for lookups: how officials type is not how decisions spell.

Officials type on phones, often without diacritics ("so giao duc"), with either
tone placement ("uỷ"/"ủy", "hoà"/"hòa"), in NFC or NFD, and with the
abbreviations every Vietnamese office uses (UBND, GD&ĐT, LĐ-TB&XH …).
`fold` maps all of these to one comparable form; `expand` spells
abbreviations out so "VP UBND tỉnh" and "Văn phòng Ủy ban nhân dân tỉnh"
meet. Display always uses the text as published, never the folded form.
"""

from __future__ import annotations

import re
import unicodedata

# Abbreviations as officials write them, keyed by their letters only
# ("gd&đt", "gd-dt", "gddt" all key to "gddt"), folded expansion as value.
ABBREVIATIONS: dict[str, str] = {
    "ubnd": "uy ban nhan dan",
    "hdnd": "hoi dong nhan dan",
    "tthc": "thu tuc hanh chinh",
    "cds": "chuyen doi so",
    "gddt": "giao duc va dao tao",
    "tttt": "thong tin va truyen thong",
    "khdt": "ke hoach va dau tu",
    "ldtbxh": "lao dong thuong binh va xa hoi",
    "nnptnt": "nong nghiep va phat trien nong thon",
    "khcn": "khoa hoc va cong nghe",
    "ptth": "phat thanh truyen hinh",
    "tnmt": "tai nguyen va moi truong",
    "gtvt": "giao thong van tai",
    "vhttdl": "van hoa the thao va du lich",
    "bql": "ban quan ly",
    "kkt": "khu kinh te",
    "vp": "van phong",
    "tp": "thanh pho",
    "tx": "thi xa",
}

_JOINED = re.compile(r"[a-z]+(?:\s*[&\-]\s*[a-z]+)+")
_NON_WORD = re.compile(r"[^a-z0-9]+")


class _Bare(dict[int, str]):
    """Each character → itself without marks ("ệ" → "e", "Đ" → "D"), worked out on
    first sight: `str.translate` then strips a whole text in one C loop (an import
    folds every name and group cell; per character in Python it was most of the
    validation's time)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        bare = bare.replace("đ", "d").replace("Đ", "D")
        if code < _REMEMBERED:  # kept for the scripts names are written in, not any text
            self[code] = bare
        return bare


_REMEMBERED = 0x2000  # Latin (Vietnamese included), combining marks, Greek, Cyrillic
_BARE = _Bare()


def strip_marks(text: str) -> str:
    """Lowercase, no diacritics, "đ" → "d"; punctuation kept.

    NFD splits a precomposed letter into base + combining marks in both
    normalisation forms and both tone placements, so removing the marks
    makes "uỷ", "ủy" and "uy" equal. "đ" has no decomposition. Done a character
    at a time: a character's decomposition does not depend on its neighbours,
    and the canonical reordering NFD adds only moves the marks removed here.
    """
    return text.translate(_BARE).lower()


def fold(text: str) -> str:
    """The comparable form: no marks, lowercase, words separated by one space."""
    return _NON_WORD.sub(" ", strip_marks(text)).strip()


def expand(text: str) -> str:
    """`fold`, with the known abbreviations spelled out."""
    bare = strip_marks(text)

    def joined(match: re.Match[str]) -> str:
        key = re.sub(r"[^a-z]", "", match.group(0))
        return f" {ABBREVIATIONS[key]} " if key in ABBREVIATIONS else match.group(0)

    bare = _JOINED.sub(joined, bare)
    words = _NON_WORD.sub(" ", bare).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words)


def nfc(text: str) -> str:
    """Names are stored in NFC so that equal names are equal strings."""
    return unicodedata.normalize("NFC", text).strip()
