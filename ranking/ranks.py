"""Ranks: the source's own where it gives one, competition ranking otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def competition_ranks(scores: Sequence[Decimal]) -> list[int]:
    """Standard competition ranking ("1224"): ties share the best rank.

    Returned in the order of `scores`.
    """
    ordered = sorted(scores, reverse=True)
    first_at: dict[Decimal, int] = {}
    for position, score in enumerate(ordered, start=1):
        first_at.setdefault(score, position)
    return [first_at[score] for score in scores]


def covered_positions(ranks: Sequence[int]) -> set[int]:
    """Positions taken by published ranks: two units at rank 15 take 15 and 16."""
    counts: dict[int, int] = {}
    for rank in ranks:
        counts[rank] = counts.get(rank, 0) + 1
    return {rank + i for rank, n in counts.items() for i in range(n)}


def gaps(ranks: Sequence[int], first: int, last: int) -> list[tuple[int, int]]:
    """Runs of positions in [first, last] that no published rank covers."""
    covered = covered_positions(ranks)
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for position in range(first, last + 1):
        if position in covered:
            if start is not None:
                runs.append((start, position - 1))
                start = None
        elif start is None:
            start = position
    if start is not None:
        runs.append((start, last))
    return runs
