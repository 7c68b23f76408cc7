"""Text folding for lookups: how officials type is not how decisions spell.

Officials type on phones, often without diacritics ("so giao duc"), with either
tone placement ("uỷ"/"ủy", "hoà"/"hòa"), in NFC or NFD, and with the
abbreviations every Vietnamese office uses (UBND, GD&ĐT, LĐ-TB&XH …).
`fold` maps all of these to one comparable form; `expand` spells
abbreviations out so "VP UBND tỉnh" and "Văn phòng Ủy ban nhân dân tỉnh"
meet. Display always uses the text as published, never the folded form.
"""

from __future__ import annotations

import difflib
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
_WORD = re.compile(r"[a-z0-9]+")  # what _NON_WORD leaves between its matches


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
    # An import expands every distinct unit name (3,000 in the largest file):
    # 2.1 against 4.7 µs a name. _JOINED's search backtracks through every word of
    # a text, and a joined form has an "&" or a "-": no search without one. The
    # words are the runs _NON_WORD leaves, looked up in a C loop.
    if "&" in bare or "-" in bare:
        bare = _JOINED.sub(_spelled_out, bare)
    words = _WORD.findall(bare)
    return " ".join(map(ABBREVIATIONS.get, words, words))


def _spelled_out(match: re.Match[str]) -> str:
    """A joined abbreviation ("gd&dt", "ld-tb&xh", marks stripped) as its
    expansion, when its letters are one; else as it is."""
    key = re.sub(r"[^a-z]", "", match.group(0))
    return f" {ABBREVIATIONS[key]} " if key in ABBREVIATIONS else match.group(0)


def nfc(text: str) -> str:
    """Names are stored in NFC so that equal names are equal strings."""
    return unicodedata.normalize("NFC", text).strip()


def closest(key: str, candidates: list[str], cutoff: float) -> str | None:
    """`difflib.get_close_matches(key, candidates, 1, cutoff)`, the same answer, with
    the candidates that cannot reach `cutoff` left out first in one C call.

    difflib's ratio is 2·M / (len a + len b) with M the characters of its matching
    blocks, a common subsequence: so it is at most 2·LCS / (len a + len b), which is
    rapidfuzz's Indel normalised similarity. A candidate below `cutoff` on that bound
    is below it on the ratio. rapidfuzz turns the cutoff into a distance with its own
    rounding (a cutoff 1e-9 under a candidate's exact bound drops it), so the bound
    asked is 0.001 lower: a few more candidates for difflib, which decides exactly.
    difflib breaks ties by the candidates' text, not their order, so the
    ones left give the same best one. (An upload's preview checks up to 500 new
    names against every name on record this way.)"""
    # loaded with the first preview, as the lookup loads it with its first large index:
    # a bot at rest on the shipped data never needs it (≈ 3.6 MB resident)
    from rapidfuzz import process
    from rapidfuzz.distance import Indel

    near = [
        name
        for name, _, _ in process.extract(
            key,
            candidates,
            scorer=Indel.normalized_similarity,
            score_cutoff=max(0.0, cutoff - 0.001),
            limit=None,
        )
    ]
    if not near:  # most new names: no SequenceMatcher built for them
        return None
    found = difflib.get_close_matches(key, near, 1, cutoff)
    return found[0] if found else None
