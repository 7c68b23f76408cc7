"""Level bands: which level a score reaches, in exact Decimal arithmetic.

The decision's rules are strict inequalities on the share of the max
("lớn hơn 75 %"). Comparing `score > above * max` avoids dividing, so no
rounding can push 562,5 of 750 (exactly 75 %) over the line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache

from ranking.catalog import Level
from ranking.text import fold


def level_for(score: Decimal, max_score: Decimal, levels: tuple[Level, ...]) -> Level | None:
    """The level `score` reaches; None when the ranking has no bands."""
    if not levels:
        return None
    with localcontext() as ctx:
        ctx.prec = 60  # products of two 28-digit decimals stay exact
        for level in levels:  # highest first
            if score > level.above * max_score:
                return level
    return levels[-1]


def share(score: Decimal, max_score: Decimal, levels: tuple[Level, ...] = ()) -> Decimal:
    """Share of the max in per cent, for display only.

    Two decimals, unless rounding would make a share that is not exactly on
    a threshold look as if it were (562,51 of 750 is 75,0013 %, Dẫn dắt, and
    must not read "75,00 %"): then more decimals, up to eight.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        exact = score * 100 / max_score
        lines = {level.above * 100 for level in levels}
        for places in range(2, 9):
            shown = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            if shown not in lines or shown == exact:
                return shown
        return shown


@lru_cache(maxsize=1024)
def _folded(text: str) -> str:
    """fold(), cached: every row of a page or a level count compares its published
    level with the level names, and there are a handful of distinct texts."""
    return fold(text)


def match_level(published: str, levels: tuple[Level, ...]) -> Level | None:
    """The level a published text names ("Nâng cao", "nang cao"), if any."""
    key = _folded(published)
    for level in levels:
        if key in (_folded(level.name_vi), _folded(level.name_en), level.code.replace("_", " ")):
            return level
    return None


def level_for_share(percent: Decimal, levels: tuple[Level, ...]) -> Level | None:
    """The level a published share of the max reaches (71,77 % → Nâng cao): the same
    strict inequalities, on the per cent as the source printed it."""
    if not levels:
        return None
    for level in levels:  # highest first
        if percent > level.above * 100:
            return level
    return levels[-1]
