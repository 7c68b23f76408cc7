"""How a decision's annex lays out a ranking, read from its own words.

An office rarely fills in the upload template: it sends the annex of the
decision as it was typed. That table has no per-row Năm, Nhóm, Căn cứ or
Điểm tối đa columns; the facts stand around the table instead:

* title rows above the header: "KẾT QUẢ XẾP HẠNG … NĂM 2023" (the year) and
  "(Kèm theo Quyết định số 684/QĐ-UBND ngày 03/4/2024 …)" (the decision);
* the score header: "Tổng điểm (tối đa 1.000)" (the maximum);
* section rows per group: "I. Cơ quan, đơn vị có thủ tục hành chính",
  "II. … (thang điểm 800)", "III. Huyện, thị xã, thành phố (9 đơn vị)";
* a signature block under the table: "Nơi nhận:", "KT. CHỦ TỊCH", …

Pure text functions; the reader uses `is_footer` to end a table and the
importer the others, matching groups against the catalog itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ranking.numbers import NotANumber, parse_number
from ranking.text import fold, strip_marks

__all__ = [
    "Decision",
    "Section",
    "decision_in",
    "is_footer",
    "max_in_header",
    "parse_max",
    "section_of",
    "years_in_title",
]

# A row whose first text starts so is not a unit: it is the end of the table.
# Folded (no marks, lowercase, punctuation as spaces): "KT. CHỦ TỊCH" → "kt chu tich".
_FOOTER_STARTS: Final = (
    "noi nhan",
    "kt chu tich",
    "tm uy ban nhan dan",
    "tm ubnd",
    "tl chu tich",
    "tuq chu tich",
    "chu tich",
    "pho chu tich",
    "nguoi lap bieu",
    "nguoi lap",
    "nguoi ky",
    "nguoi kiem tra",
    "thu truong",
    "kt giam doc",
    "giam doc",
    "kt truong ban",
    "truong ban",
    "ghi chu",
    "chu thich",
    "luu y",
    "nguon",
    "luu vt",
)
# "Lào Cai, ngày 03 tháng 4 năm 2024" — the signature's place and date line.
_DATE_LINE = re.compile(r"\bngay\s+\d{1,2}\s+thang\s+\d{1,2}\s+nam\s+\d{4}\b")
_DATE_ONLY = re.compile(r"^[a-z\s,.]*ngay\s+\.*\s*thang\s+\.*\s*nam\b")  # "ngày … tháng … năm"


def _folded(text: str) -> str:
    return fold(text)


def is_footer(text: str) -> bool:
    """True for the first text of a signature-block or footnote row."""
    folded = _folded(text)
    if not folded:
        return False
    if any(folded == start or folded.startswith(start + " ") for start in _FOOTER_STARTS):
        return True
    bare = strip_marks(text).lower()
    return bool(_DATE_LINE.search(folded) or _DATE_ONLY.match(bare)) and len(folded) < 80


# --------------------------------------------------------------------------- maximum

_GROUPED_INTEGER = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
# "(tối đa 1.000)", "(thang điểm 800)", "tối đa: 750 điểm", "(điểm tối đa 1000)"
_MAX_PHRASE = re.compile(
    r"(?:diem\s+toi\s+da|toi\s+da|thang\s+diem)\s*[:=]?\s*(\d[\d.,\s]*\d|\d)(?:\s*diem)?",
)
_HEADER_WITH_MAX = re.compile(
    r"^(?P<base>.*?)\s*[(\[]\s*(?:diem\s+toi\s+da|toi\s+da|thang\s+diem)\s*[:=]?\s*"
    r"(?P<max>\d[\d.,\s]*\d|\d)\s*(?:diem)?\s*[)\]]\s*$"
)


def parse_max(text: str) -> Decimal | None:
    """A maximum as written in a title: "1.000" and "1,000" are a thousand
    (a maximum of one point does not occur), "800" is 800, "62,5" is 62.5."""
    compact = re.sub(r"\s+", "", text)
    if _GROUPED_INTEGER.fullmatch(compact):
        return Decimal(re.sub(r"[.,]", "", compact))
    try:
        value = parse_number(compact, ",")
    except NotANumber:
        return None
    return value if value > 0 else None


def _bare(text: str) -> str:
    return strip_marks(unicodedata.normalize("NFC", text)).lower()


def max_in_header(text: str) -> tuple[str, str] | None:
    """("Tổng điểm", "1.000") for a header "Tổng điểm (tối đa 1.000)", else None.

    Only the words "tối đa" / "thang điểm" make a number in brackets a
    maximum: "Tổng điểm (1000)" says nothing certain and stays unmatched.
    """
    bare = _bare(text)
    match = _HEADER_WITH_MAX.match(bare)
    if match is None:
        return None
    # strip_marks keeps the length of an NFC text only for letters that
    # decompose into one base letter: cut the original at the same spot.
    base = unicodedata.normalize("NFC", text)[: match.end("base")]
    return base.strip(), match.group("max").strip()


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Section:
    """A group heading row as read: its label (numbering removed), and what it says."""

    label: str
    max_text: str | None  # "800" from "… thang điểm 800"
    unit_count: int | None  # 18 from "… (18 đơn vị)"


# "I.", "II -", "1)", "A.", "Nhóm 1:", "Khối I." before the group's name
_NUMBERING = re.compile(
    r"^\s*(?:(?:nhom|khoi|phan|muc)\s+)?(?:[ivxlc]{1,6}|\d{1,2}|[a-e])\s*[.):\-–]\s*"
    r"|^\s*(?:nhom|khoi|phan|muc)\s+(?:[ivxlc]{1,6}|\d{1,2})\s+"
)
_COUNT = re.compile(r"(\d{1,4})\s+(?:don\s+vi|co\s+quan|huyen|dia\s+phuong)\b")
_BRACKETS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*")
_TAIL_MAX = re.compile(r"[,;:\-–\s]*(?:co\s+)?" + _MAX_PHRASE.pattern + r"\s*$")


def section_of(text: str) -> Section:
    """The parts of a section row's text; the importer matches `label` to a group."""
    bare = _bare(text)
    max_match = _MAX_PHRASE.search(bare)
    count_match = _COUNT.search(bare)
    label = _NUMBERING.sub("", bare, count=1)
    label = _BRACKETS.sub(" ", label)
    label = _TAIL_MAX.sub("", label)
    label = _COUNT.sub(" ", label)
    return Section(
        label=fold(label),
        max_text=max_match.group(1).strip() if max_match else None,
        unit_count=int(count_match.group(1)) if count_match else None,
    )


# --------------------------------------------------------------------------- title rows

_YEAR = re.compile(r"\bnam\s+((?:19|20)\d{2})\b")
_DECISION_WORDS = re.compile(r"\b(?:quyet\s+dinh|qd)\b")


def years_in_title(text: str) -> list[int]:
    """The years a title row names ("… NĂM 2023"), not counting dates
    ("ngày 03 tháng 4 năm 2024") nor a decision's own line."""
    bare = _bare(text)
    if _DECISION_WORDS.search(bare):
        return []
    bare = _DATE_LINE.sub(" ", fold(text))
    return [int(y) for y in _YEAR.findall(bare)]


@dataclass(frozen=True)
class Decision:
    number: str  # "684/QĐ-UBND"
    date: str | None  # "03/4/2024" (day and month as written)

    @property
    def source(self) -> str:
        """As the template's Căn cứ column writes it: "QĐ 684/QĐ-UBND ngày 03/4/2024"."""
        return f"QĐ {self.number}" + (f" ngày {self.date}" if self.date else "")


_DECISION = re.compile(
    r"(?:quyết\s+định|QĐ)\s*(?:số\s*)?[:.]?\s*(\d{1,6}\s*/\s*[^\s,;()]+)", re.IGNORECASE
)
_SLASH_DATE = re.compile(
    r"ngày\s+(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", re.IGNORECASE
)
_WORD_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)


def decision_in(text: str) -> Decision | None:
    """The decision a title row cites: "(Kèm theo Quyết định số 684/QĐ-UBND
    ngày 03/4/2024 của UBND tỉnh)" → 684/QĐ-UBND, 03/4/2024."""
    nfc = unicodedata.normalize("NFC", text)
    match = _DECISION.search(nfc)
    if match is None:
        return None
    number = re.sub(r"\s+", "", match.group(1)).rstrip(".")
    rest = nfc[match.end() :]
    when = _SLASH_DATE.search(rest) or _WORD_DATE.search(rest)
    date = f"{when.group(1)}/{when.group(2)}/{when.group(3)}" if when else None
    return Decision(number=number, date=date)
