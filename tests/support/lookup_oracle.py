"""The unit index as it was before its entries became bit sets: the oracle the
new one is held to (tests/test_lookup_equivalence.py). Do not optimise it.

Find a unit from what an official types: "so giao duc", "bac ha", "VP UBND".

Matching is on folded, abbreviation-expanded words. Tiers, best first:
the whole name (or a recorded alias); the query as a run of whole words;
every query word as a whole word; every query word as a word prefix.
Only the best non-empty tier is returned, so "lao cai" finds "Thành phố
Lào Cai" before anything that merely contains "lao". Nothing found →
near misses ("did you mean") by word similarity.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from ranking.text import expand

MAX_CHOICES = 8
SUGGESTIONS = 3  # near misses offered for a name not found
# Above this many entries the last-resort similarity search compares only names
# holding all of the query's words but one (every real data set is far smaller).
SIMILAR_SCAN_LIMIT = 500


@dataclass(frozen=True, slots=True)  # slots: one per unit in the index
class UnitRef:
    unit_id: int
    ranking: str
    name: str


@dataclass(frozen=True)
class LookupResult:
    matches: list[UnitRef]
    suggestions: list[UnitRef]


class UnitIndex:
    """Built once per data version; every tier is answered from indexes, not scans.

    Words map to the entries holding them (whole words; a sorted vocabulary gives
    the words with a prefix), so the cost of a search follows the size of its
    answer, not the number of units. The last-resort similarity search keeps
    difflib's ratio and skips entries whose character counts cannot reach it.
    """

    def __init__(self, entries: list[tuple[int, str, str, str]]):
        """entries: (unit id, ranking, display name, key); several keys per unit allowed."""
        # every entry's words (and ranking code) as one shared string per distinct
        # word: 100,000 names are made of a few thousand words, and a string each
        # would be most of the index's memory
        shared: dict[str, str] = {}
        self._entries = [
            (
                UnitRef(uid, shared.setdefault(ranking, ranking), name),
                key,
                tuple([shared.setdefault(w, w) for w in key.split()]),
            )
            for uid, ranking, name, key in entries
        ]
        del shared
        postings: dict[str, set[int]] = {}
        # the entry of each key, and the rare further ones (a list a key would cost
        # 100,000 lists of one)
        by_key: dict[str, int] = {}
        more_by_key: dict[str, list[int]] = {}
        for i, (_, key, words) in enumerate(self._entries):
            for w in words:
                postings.setdefault(w, set()).add(i)
            if by_key.setdefault(key, i) != i:
                more_by_key.setdefault(key, []).append(i)
        self._postings = postings
        self._by_key = by_key
        self._more_by_key = more_by_key
        self._vocabulary = sorted(postings)
        # " key " of each entry: the phrase tier tests a run of whole words with `in`
        self._padded = [f" {key} " for _, key, _ in self._entries]
        # a word → its closest known word (difflib over the whole vocabulary: the
        # typo path's most repeated cost), per index, so per data version
        self._corrections: dict[str, str] = {}
        # character masks for the similarity search, built on its first use
        self._masks: dict[str, int] = {}
        self._entry_mask: list[int] = []
        self._by_chars: dict[int, list[int]] = {}

    def _build_masks(self) -> None:
        for i, (_, key, _) in enumerate(self._entries):
            mask = self._mask(key)
            self._entry_mask.append(mask)
            self._by_chars.setdefault(mask, []).append(i)

    def _mask(self, text: str) -> int:
        """A bit per distinct character of `text` (bits allocated on first sight)."""
        mask = 0
        for ch in set(text):
            bit = self._masks.get(ch)
            if bit is None:
                bit = self._masks[ch] = 1 << len(self._masks)
            mask |= bit
        return mask

    def _with_word(self, word: str) -> set[int]:
        return self._postings.get(word, set())

    def _prefixed(self, prefix: str) -> list[str]:
        """The known words starting with `prefix` (a run of the sorted vocabulary)."""
        start = bisect.bisect_left(self._vocabulary, prefix)
        return list(
            itertools.takewhile(
                lambda word: word.startswith(prefix),
                itertools.islice(self._vocabulary, start, None),
            )
        )

    def _with_prefixes(self, prefixes: list[str]) -> set[int]:
        """Entries with a word starting with each of `prefixes`. Unions of the prefixes'
        entries are intersected smallest first while a union costs less than checking
        the entries left one by one (a set operation per entry is about a tenth of a
        check in Python); the entries left are then checked for the other prefixes."""
        runs = [self._prefixed(p) for p in prefixes]
        sizes = [sum(len(self._postings[w]) for w in run) for run in runs]
        order = sorted(range(len(runs)), key=sizes.__getitem__)

        def union(k: int) -> set[int]:
            found: set[int] = set()
            for word in runs[k]:
                found |= self._postings[word]
            return found

        pool = union(order[0])
        others = []
        for k in order[1:]:
            if not pool:
                return pool
            if sizes[k] < 10 * len(pool):
                pool &= union(k)
            else:
                others.append(prefixes[k])
        if not others:
            return pool
        return {
            i
            for i in pool
            if all(any(w.startswith(p) for w in self._entries[i][2]) for p in others)
        }

    def _correct(self, word: str) -> str:
        fixed = self._corrections.get(word)
        if fixed is None:
            fixed = (difflib.get_close_matches(word, self._vocabulary, 1, 0.75) or [word])[0]
            self._corrections[word] = fixed
        return fixed

    @staticmethod
    def _all_of(sets: list[set[int]]) -> set[int]:
        sets = sorted(sets, key=len)
        result = set(sets[0])
        for other in sets[1:]:
            result &= other
            if not result:
                break
        return result

    def _refs(self, found: Iterable[int], ranking: str | None) -> list[UnitRef]:
        return _unique(
            self._entries[i][0]
            for i in sorted(found)
            if ranking is None or self._entries[i][0].ranking == ranking
        )

    def search(self, query: str, ranking: str | None = None) -> LookupResult:
        key = expand(query)
        words = key.split()
        if not words:
            return LookupResult([], [])
        # the whole name (or a recorded alias)
        first = self._by_key.get(key)
        keyed = () if first is None else (first, *self._more_by_key.get(key, ()))
        found = self._refs(keyed, ranking)
        if found:
            return LookupResult(found, [])
        with_all = self._all_of([self._with_word(w) for w in words])
        # the query as a run of whole words; only entries holding every word can match
        phrase_pool: Iterable[int] = (
            with_all if " ".join(words) == key else range(len(self._entries))
        )
        padded = f" {key} "
        found = self._refs((i for i in phrase_pool if padded in self._padded[i]), ranking)
        if found:
            return LookupResult(found, [])
        # every query word as a whole word, then as a word prefix
        found = self._refs(with_all, ranking)
        if found:
            return LookupResult(found, [])
        found = self._refs(self._with_prefixes(words), ranking)
        if found:
            return LookupResult(found, [])
        # Near misses: correct each word to the closest known word, then retry.
        fixed = [self._correct(w) for w in words]
        suggestions: list[UnitRef] = []
        if fixed != words:
            suggestions = self._refs(self._all_of([self._with_word(w) for w in fixed]), ranking)
        if not suggestions:
            suggestions = [ref for _, ref in self._similar(key, ranking, SUGGESTIONS)]
        return LookupResult([], suggestions[:SUGGESTIONS])

    def _similar(self, key: str, ranking: str | None, limit: int) -> list[tuple[float, UnitRef]]:
        """The `limit` distinct units whose name is most similar to `key` (difflib's
        ratio, at least 0.6), best first; ties in index order.

        ratio ≤ 2·Σ min(count in key, count in name) / (len key + len name); the sum is at
        most the key's count of the characters both contain, and at most the name's
        length. Candidates are compared in order of that bound, highest first, and the
        search stops once `limit` units have a ratio above the next candidate's bound:
        no later one can reach them. A large index (synthetic benchmarks) compares only
        names sharing all query words but one.
        """
        if len(self._entry_mask) != len(self._entries):
            self._build_masks()
        counts: dict[int, int] = {}
        for ch in key:
            bit = self._masks.get(ch)
            if bit is not None:
                counts[bit] = counts.get(bit, 0) + 1
        query_mask = sum(counts)
        groups: Iterable[tuple[int, Iterable[int]]] = self._by_chars.items()
        if len(self._entries) > SIMILAR_SCAN_LIMIT:
            words = key.split()
            pool: set[int] = set()
            for skip in range(len(words)):
                rest = words[:skip] + words[skip + 1 :]
                if rest:
                    pool |= self._all_of([self._with_word(w) for w in rest])
            groups = [(self._entry_mask[i], (i,)) for i in sorted(pool)]
        candidates: list[tuple[float, int]] = []  # (bound, index)
        for mask, indexes in groups:
            shared = mask & query_mask
            common = 0
            while shared:
                low = shared & -shared
                common += counts[low]
                shared ^= low
            for i in indexes:
                ref, name_key, _ = self._entries[i]
                if ranking is not None and ref.ranking != ranking:
                    continue
                total = len(key) + len(name_key)
                if 2 * min(common, len(name_key)) < 0.6 * total - 1e-9:
                    continue
                candidates.append((2 * min(common, len(name_key)) / total, i))
        candidates.sort(key=lambda item: (-item[0], item[1]))
        matcher = difflib.SequenceMatcher(None, key)
        scored: list[tuple[float, int, UnitRef]] = []  # kept sorted, best first
        for n, (_, i) in enumerate(candidates):
            ref, name_key, _ = self._entries[i]
            matcher.set_seq2(name_key)
            # quick_ratio (shared characters) bounds ratio and costs far less
            ratio = matcher.ratio() if matcher.quick_ratio() >= 0.6 else 0.0
            if ratio >= 0.6:
                bisect.insort(scored, (ratio, i, ref), key=lambda item: (-item[0], item[1]))
            if n + 1 < len(candidates) and _settled(scored, limit, candidates[n + 1][0]):
                break
        return [(ratio, ref) for ratio, _, ref in _best_distinct(scored, limit)]


def _best_distinct(
    scored: list[tuple[float, int, UnitRef]], limit: int
) -> list[tuple[float, int, UnitRef]]:
    """The first `limit` entries of distinct units (scored is sorted best first)."""
    seen: set[tuple[int, str]] = set()
    found = []
    for item in scored:
        unit = (item[2].unit_id, item[2].ranking)
        if unit not in seen:
            seen.add(unit)
            found.append(item)
            if len(found) == limit:
                break
    return found


def _settled(scored: list[tuple[float, int, UnitRef]], limit: int, following: float) -> bool:
    """Whether `limit` distinct units already score above `following`, the highest
    ratio any candidate not yet compared could reach (scored: sorted best first)."""
    seen: set[tuple[int, str]] = set()
    for ratio, _, ref in scored:
        if ratio <= following:
            return False
        seen.add((ref.unit_id, ref.ranking))
        if len(seen) == limit:
            return True
    return False


def _unique(refs: object) -> list[UnitRef]:
    seen: dict[tuple[int, str], UnitRef] = {}
    for ref in refs:  # type: ignore[attr-defined]
        seen.setdefault((ref.unit_id, ref.ranking), ref)
    return list(seen.values())
