"""What a source text says about itself: the day it was published.

Sources are written by people ("QĐ 791/QĐ-UBND ngày 11/4/2023", "… (công bố
12/7/2023), dti.gov.vn/…"), so the day is read from the text, never guessed.
"""

from __future__ import annotations

import re
from datetime import date

from ranking.text import strip_marks

# d/m/yyyy (or with "-" or "."), not inside a longer number ("202/2025/QH15" is no date)
_NUMERIC = re.compile(r"(?<![\d/])(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?![\d/])")
# "ngày 11 tháng 4 năm 2023", folded
_WORDS = re.compile(r"ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
# the words that introduce the day of the decision or of its publication
_INTRO = re.compile(r"(ngay|cong bo|ban hanh)\s*$")


def published_on(source: str) -> date | None:
    """The decision's (or the report's) date named in `source`; the one after "ngày"
    or "công bố" first, else the only date; None when it names none or several."""
    folded = strip_marks(source)
    found: list[tuple[bool, date]] = []
    for match in [*_WORDS.finditer(folded), *_NUMERIC.finditer(folded)]:
        day, month, year = (int(g) for g in match.groups())
        try:
            when = date(year, month, day)
        except ValueError:
            continue
        named = bool(_INTRO.search(folded[: match.start()])) or match.re is _WORDS
        found.append((named, when))
    introduced = [when for named, when in found if named]
    if introduced:
        return introduced[0]
    return found[0][1] if len(found) == 1 else None
