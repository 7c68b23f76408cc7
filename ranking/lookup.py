"""Find a unit from what an official types: "so giao duc", "bac ha", "VP UBND".

Matching is on folded, abbreviation-expanded words. Tiers, best first:
the whole name (or a recorded alias); the query as a run of whole words;
every query word as a whole word; every query word as a word prefix.
Only the best non-empty tier is returned, so "lao cai" finds "Thành phố
Lào Cai" before anything that merely contains "lao". Nothing found →
near misses ("did you mean") by word similarity.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ranking.text import expand

MAX_CHOICES = 8


@dataclass(frozen=True)
class UnitRef:
    unit_id: int
    ranking: str
    name: str


@dataclass(frozen=True)
class LookupResult:
    matches: list[UnitRef]
    suggestions: list[UnitRef]


class UnitIndex:
    def __init__(self, entries: list[tuple[int, str, str, str]]):
        """entries: (unit id, ranking, display name, key); several keys per unit allowed."""
        self._entries = [
            (UnitRef(uid, ranking, name), key, key.split()) for uid, ranking, name, key in entries
        ]
        self._vocabulary = sorted({w for _, _, words in self._entries for w in words})

    def search(self, query: str, ranking: str | None = None) -> LookupResult:
        key = expand(query)
        words = key.split()
        if not words:
            return LookupResult([], [])
        entries = [e for e in self._entries if ranking is None or e[0].ranking == ranking]
        for tier in (_exact, _phrase, _all_words, _all_prefixes):
            found = _unique(
                ref
                for ref, name_key, name_words in entries
                if tier(key, words, name_key, name_words)
            )
            if found:
                return LookupResult(found, [])
        # Near misses: correct each word to the closest known word, then retry.
        fixed = [
            (difflib.get_close_matches(w, self._vocabulary, 1, 0.75) or [w])[0] for w in words
        ]
        suggestions: list[UnitRef] = []
        if fixed != words:
            suggestions = _unique(
                ref for ref, _, name_words in entries if _all_words("", fixed, "", name_words)
            )
        if not suggestions:
            scored = sorted(
                (
                    (difflib.SequenceMatcher(None, key, name_key).ratio(), ref)
                    for ref, name_key, _ in entries
                ),
                key=lambda pair: -pair[0],
            )
            suggestions = _unique(ref for ratio, ref in scored if ratio >= 0.6)
        return LookupResult([], suggestions[:3])


def _unique(refs: object) -> list[UnitRef]:
    seen: dict[tuple[int, str], UnitRef] = {}
    for ref in refs:  # type: ignore[attr-defined]
        seen.setdefault((ref.unit_id, ref.ranking), ref)
    return list(seen.values())


def _exact(key: str, words: list[str], name_key: str, name_words: list[str]) -> bool:
    return key == name_key


def _phrase(key: str, words: list[str], name_key: str, name_words: list[str]) -> bool:
    return f" {key} " in f" {name_key} "


def _all_words(key: str, words: list[str], name_key: str, name_words: list[str]) -> bool:
    return all(w in name_words for w in words)


def _all_prefixes(key: str, words: list[str], name_key: str, name_words: list[str]) -> bool:
    return all(any(n.startswith(w) for n in name_words) for w in words)
