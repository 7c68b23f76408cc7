"""Find a unit from what an official types: "so giao duc", "bac ha", "VP UBND".

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
import re
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ranking.text import expand

MAX_CHOICES = 8
SUGGESTIONS = 3  # near misses offered for a name not found
# Above this many entries the last-resort similarity search compares only names
# holding all of the query's words but one (every real data set is far smaller).
SIMILAR_SCAN_LIMIT = 500
# Up to this many entries the near-miss candidates are ranked by a looser bound, the
# characters the two names share, counted in Python: ≈ 0.3 ms a search of the shipped
# data's names instead of 0.1, and rapidfuzz (≈ 3.6 MB resident) is then never loaded
# by a bot on them. Above it rapidfuzz ranks them by the longest common subsequence.
LCS_BOUND_ABOVE = 500
PAIRS_KEPT = 4096  # two-word runs remembered per index for the phrase tier
NEAR = 0.6  # the least similarity of a near miss (difflib's ratio)
SPARSE = 256  # a bit set with fewer members than one in this many bits: see _sparse_members


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

    Entries are numbered in the order given. Each word maps to the entries holding
    it, as a bit set (a Python int: bit i is entry i) when the word is common and as
    a sorted array of entry numbers when it is rare, whichever is smaller; a ranking
    is a bit set too. Intersections and unions are then integer AND/OR in C, not
    Python set operations, so the cost of a search follows the size of its answer,
    and 100,000 units cost a few MB instead of a set per word (tens of MB). The
    last-resort similarity search keeps difflib's ratio and skips entries whose
    longest common subsequence with the query cannot reach it.
    """

    def __init__(self, entries: list[tuple[int, str, str, str]]):
        """entries: (unit id, ranking, display name, key); several keys per unit allowed."""
        # building is on the way to the first answer after an import: one pass in
        # Python over the keys' words, the rest in C (zip, map, sort, int parsing)
        columns = zip(*entries, strict=True) if entries else ((), (), (), ())
        ids, rankings, names, keys = columns
        codes = {code: n for n, code in enumerate(dict.fromkeys(rankings))}
        self._codes = list(codes)
        self._code_of = codes
        self._ids = array("q", ids)
        self._rankings = array("H", map(codes.__getitem__, rankings))
        self._names: list[str] = list(names)
        self._keys: list[str] = list(keys)
        del columns, ids, rankings, names, keys  # the tuples: the lists above are kept
        texts = self._keys
        self._everything = (1 << len(texts)) - 1
        self._in_ranking = {
            code: _mask_of([i for i, c in enumerate(self._rankings) if c == n])
            for code, n in codes.items()
        }
        # a word → the entries holding it; then packed
        holding: defaultdict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(texts):
            for w in key.split():
                holding[w].append(i)
        self._postings = {w: _packed(found) for w, found in holding.items()}
        del holding
        # two words in a row ("a b") → the entries holding them so, for the phrase
        # tier: found on a pair's first use (indexing every pair of 100,000 names up
        # front would double the build), at most PAIRS_KEPT of them
        self._pairs: dict[str, int | array[int]] = {}
        # keys not single-spaced (none that `expand` makes): the phrase tier checks
        # them one by one; a few searches of all keys at once say whether there are any
        joined = "\x00".join(texts)
        irregular: list[int] = []
        if (
            _OTHER_SPACE.search(joined)
            or any(run in joined for run in ("  ", " \x00", "\x00 "))
            or joined[:1] == " "
            or joined[-1:] == " "
        ):
            irregular = [i for i, key in enumerate(texts) if " ".join(key.split()) != key]
        del joined
        self._irregular = array("I", irregular)
        # the whole-name tier: a key → its first entry, and the rare further ones
        self._by_key = dict(zip(reversed(texts), range(len(texts) - 1, -1, -1), strict=True))
        self._more_by_key: defaultdict[str, list[int]] = defaultdict(list)
        if len(self._by_key) < len(texts):
            for i, key in enumerate(texts):
                if self._by_key[key] != i:
                    self._more_by_key[key].append(i)
        self._vocabulary = sorted(self._postings)
        # a word → its closest known word (difflib over the whole vocabulary: the
        # typo path's most repeated cost), per index, so per data version
        self._corrections: dict[str, str] = {}
        self._recent_similar: _Ranked | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def _ref(self, i: int) -> UnitRef:
        return UnitRef(self._ids[i], self._codes[self._rankings[i]], self._names[i])

    def _scope(self, ranking: str | None) -> int:
        """The entries a search may return: those of `ranking`, or all."""
        return self._everything if ranking is None else self._in_ranking.get(ranking, 0)

    def _with_word(self, word: str) -> int:
        return _unpacked(self._postings.get(word))

    def _with_all(self, words: list[str], scope: int) -> int:
        """Entries of `scope` holding every one of `words` (a bit set)."""
        result = scope
        for w in words:
            result &= self._with_word(w)
            if not result:
                break
        return result

    def _prefixed(self, prefix: str) -> list[str]:
        """The known words starting with `prefix` (a run of the sorted vocabulary)."""
        start = bisect.bisect_left(self._vocabulary, prefix)
        return list(
            itertools.takewhile(
                lambda word: word.startswith(prefix),
                itertools.islice(self._vocabulary, start, None),
            )
        )

    def _with_prefixes(self, prefixes: list[str], scope: int) -> int:
        """Entries with a word starting with each of `prefixes` (a bit set)."""
        result = scope
        for p in prefixes:
            dense = 0
            sparse: list[int] = []
            for word in self._prefixed(p):
                found = self._postings[word]
                if isinstance(found, int):
                    dense |= found
                else:
                    sparse.extend(found)
            result &= dense | _mask_of(sparse)
            if not result:
                break
        return result

    def _correct(self, word: str) -> str:
        fixed = self._corrections.get(word)
        if fixed is None:
            fixed = (difflib.get_close_matches(word, self._vocabulary, 1, 0.75) or [word])[0]
            self._corrections[word] = fixed
        return fixed

    def _refs(self, found: Iterable[int]) -> list[UnitRef]:
        """The distinct units of the entries `found` (ascending), the first entry of each."""
        seen: dict[tuple[int, int], int] = {}
        for i in found:
            seen.setdefault((self._ids[i], self._rankings[i]), i)
        return [self._ref(i) for i in seen.values()]

    def search(self, query: str, ranking: str | None = None) -> LookupResult:
        key = expand(query)
        words = key.split()
        if not words:
            return LookupResult([], [])
        scope = self._scope(ranking)
        # the whole name (or a recorded alias)
        keys = self._keys
        first = self._by_key.get(key)
        keyed = () if first is None else (first, *self._more_by_key.get(key, ()))
        found = self._refs(i for i in keyed if scope >> i & 1)
        if found:
            return LookupResult(found, [])
        with_all = self._with_all(words, scope)
        padded = f" {key} "
        found = self._refs(
            i for i in self._phrase_pool(key, words, with_all, scope) if padded in f" {keys[i]} "
        )
        if found:
            return LookupResult(found, [])
        # every query word as a whole word, then as a word prefix
        found = self._refs(_members(with_all))
        if found:
            return LookupResult(found, [])
        found = self._refs(_members(self._with_prefixes(words, scope)))
        if found:
            return LookupResult(found, [])
        # Near misses: correct each word to the closest known word, then retry.
        fixed = [self._correct(w) for w in words]
        suggestions: list[UnitRef] = []
        if fixed != words:
            suggestions = self._refs(_members(self._with_all(fixed, scope)))
        if not suggestions:
            suggestions = [ref for _, ref in self._similar(key, ranking, SUGGESTIONS)]
        return LookupResult([], suggestions[:SUGGESTIONS])

    def _phrase_pool(self, key: str, words: list[str], with_all: int, scope: int) -> list[int]:
        """The entries (ascending) that may hold the query as a run of whole words.
        In a single-spaced key (all that `expand` makes) each two query words in a row
        are a pair of the key's, so the entries of the rarest pair are enough, with
        those whose key is spaced otherwise."""
        if " ".join(words) != key:
            return _members(scope)  # not what `expand` returns: every entry is checked
        if len(words) == 1 or not with_all:
            return _members(with_all)
        pairs = [self._pair(a, b) for a, b in itertools.pairwise(words)]
        rarest = min(pairs, key=_size)
        if isinstance(rarest, int):
            found = _members(rarest & with_all)
        else:
            found = (
                list(rarest) if scope == self._everything else _members(_mask_of(rarest) & scope)
            )
        if self._irregular:
            found = sorted({*found, *(i for i in self._irregular if scope >> i & 1)})
        return found

    def _pair(self, a: str, b: str) -> int | array[int]:
        """The entries holding words `a` and `b` in a row. Bounded memory: a pair
        kept as a bit set holds more than 1/32 of the entries, so an entry's few
        pairs allow only a few hundred of those; the others are short arrays."""
        pair = f"{a} {b}"
        found = self._pairs.get(pair)
        if found is None:
            padded = f" {pair} "
            keys = self._keys
            both = _members(self._with_all([a, b], self._everything))
            found = _packed([i for i in both if padded in f" {keys[i]} "])
            if len(self._pairs) >= PAIRS_KEPT:
                del self._pairs[next(iter(self._pairs))]  # the oldest
            self._pairs[pair] = found
        return found

    def _similar(self, key: str, ranking: str | None, limit: int) -> list[tuple[float, UnitRef]]:
        """The `limit` distinct units of `ranking` (or of all) whose name is most
        similar to `key` (difflib's ratio, at least NEAR), best first; ties in index
        order.

        ratio = 2·M / (len key + len name), where M, the characters of difflib's
        matching blocks, is a common subsequence of the two: so ratio ≤ 2·LCS / (len key
        + len name), the longest common subsequence's length found in C (rapidfuzz),
        far tighter than counting shared characters. Candidates are compared in order
        of that bound, highest first, and the search stops once `limit` units rank
        before the next candidate's bound (see `_settled`): no later one can. A large
        index (synthetic benchmarks) compares only names sharing all query words but one.
        """
        code = None if ranking is None else self._code_of.get(ranking)
        if ranking is not None and code is None:
            return []
        recent = self._recent_similar
        if recent is None or recent.key != key:
            recent = self._recent_similar = self._ranked(key)
        rankings = self._rankings
        keys = self._keys
        bounds = recent.bounds
        ratios = recent.ratios
        matcher: difflib.SequenceMatcher[str] | None = None
        longest = None  # rapidfuzz's LCS, for a large index (a small one's are all known)
        scored: list[tuple[float, int, UnitRef]] = []  # kept sorted, best first
        for i in recent.entries():
            if code is not None and rankings[i] != code:
                continue
            bound = bounds.get(i)
            if bound is None:
                if longest is None:
                    from rapidfuzz.distance import LCSseq

                    longest = LCSseq.similarity
                # the exact bound, as difflib's ratio is computed: ties and the stop
                # below compare the two as floats
                name_key = keys[i]
                bound = bounds[i] = 2.0 * longest(key, name_key) / (len(key) + len(name_key))
            if bound < NEAR or _settled(scored, limit, bound, i):
                break  # the candidates are in bound order: none later can do better
            ratio = ratios.get(i)
            if ratio is None:
                if matcher is None:
                    matcher = difflib.SequenceMatcher(None, key)
                matcher.set_seq2(keys[i])
                ratio = ratios[i] = matcher.ratio()
            if ratio >= NEAR:
                bisect.insort(
                    scored, (ratio, i, self._ref(i)), key=lambda item: (-item[0], item[1])
                )
        return [(ratio, ref) for ratio, _, ref in _best_distinct(scored, limit)]

    def _ranked(self, key: str) -> _Ranked:
        """Every candidate entry for names similar to `key`, of all rankings, in order
        of the bound 2·LCS / (len key + len name), highest first, ties in index order.

        One call into rapidfuzz ranks them all: its Indel normalised similarity is
        1 − (len key + len name − 2·LCS) / (len key + len name), the same fraction, so
        the same order (two different fractions of names this short are far more than
        a rounding apart, and equal ones round alike), and its ties are in index order
        too. Its float may differ from the bound's by a rounding, hence the lower
        cutoff; `_similar` computes the exact bound of each candidate it reaches.

        An index of at most LCS_BOUND_ABOVE entries ranks them by another bound on the
        ratio instead, 2·S / (len key + len name) with S the characters the two share
        (a multiset intersection, at least the LCS), known exactly here; `_similar`
        stops as soundly on any bound that candidates come in the order of."""
        if len(self._keys) <= LCS_BOUND_ABOVE:
            return self._ranked_by_shared_characters(key)
        from rapidfuzz import process
        from rapidfuzz.distance import Indel

        pool = self._everything
        if len(self._keys) > SIMILAR_SCAN_LIMIT:
            words = key.split()
            pool = 0
            for skip in range(len(words)):
                rest = words[:skip] + words[skip + 1 :]
                if rest:
                    pool |= self._with_all(rest, self._everything)
        if pool == self._everything:
            members: Sequence[int] = range(len(self._keys))
            choices = self._keys
        else:
            members = _members(pool)
            keys = self._keys
            choices = [keys[i] for i in members]
        found = process.extract(
            key,
            choices,
            scorer=Indel.normalized_similarity,
            processor=None,
            limit=None,
            score_cutoff=NEAR - 0.01,
        )
        return _Ranked(key, members, found)

    def _ranked_by_shared_characters(self, key: str) -> _Ranked:
        """`_ranked` for a small index, in Python: every entry whose bound reaches NEAR,
        highest first, ties in index order, with its bound."""
        counts = Counter(key).items()
        size = len(key)
        bounds: dict[int, float] = {}
        for i, name_key in enumerate(self._keys):
            shared = sum(min(n, name_key.count(c)) for c, n in counts)
            bound = 2.0 * shared / (size + len(name_key))
            if bound >= NEAR:
                bounds[i] = bound
        order = sorted(bounds, key=lambda i: (-bounds[i], i))
        keys = self._keys
        found = [(keys[i], bounds[i], i) for i in order]
        return _Ranked(key, range(len(keys)), found, bounds)


@dataclass(slots=True)
class _Ranked:
    """The similarity candidates of the last near-miss search (see `UnitIndex._ranked`),
    with the bounds and ratios found so far: a name is looked up in the default
    ranking, then in all (`Rankings.find_units`), and the second search of the same
    text reuses them."""

    key: str
    members: Sequence[int]  # candidate number → entry
    found: list[tuple[str, float, int]]  # rapidfuzz's (choice, score, candidate number)
    bounds: dict[int, float] = field(default_factory=dict)  # entry → 2·LCS / total length
    ratios: dict[int, float] = field(default_factory=dict)  # entry → difflib's ratio

    def entries(self) -> Iterator[int]:
        members = self.members
        return (members[n] for _, _, n in self.found)


_ONE = re.compile("1")
# whitespace other than a space (a key with none, no two spaces in a row and none at
# either end is single-spaced)
_OTHER_SPACE = re.compile(r"[^\S ]")


def _mask_of(found: Sequence[int]) -> int:
    """The bit set of entry numbers `found` (any order, repeats allowed): its binary
    digits written into a buffer and parsed in C."""
    if not found:
        return 0
    digits = bytearray(b"0") * (max(found) + 1)
    for i in found:
        digits[i] = 49  # "1"
    digits.reverse()
    return int(digits, 2)


def _size(found: int | array[int]) -> int:
    return found.bit_count() if isinstance(found, int) else len(found)


def _packed(found: list[int]) -> int | array[int]:
    """A word's entries (ascending, an entry repeated for each time it holds the
    word) as the smaller of a bit set and an array."""
    if not found:
        return array("I")
    if 4 * len(found) > (found[-1] >> 3) + 1:
        return _mask_of(found)
    return array("I", dict.fromkeys(found))


def _unpacked(found: int | array[int] | None) -> int:
    """A posting as a bit set."""
    if found is None:
        return 0
    return found if isinstance(found, int) else _mask_of(found)


def _members(mask: int) -> list[int]:
    """The entry numbers in bit set `mask`, ascending. Its binary digits are searched
    in C (bit i is the digit i places from the end): a loop over the bits or bytes in
    Python costs several times more, except for a few members among many entries."""
    if not mask:
        return []
    if mask.bit_count() * SPARSE < mask.bit_length():
        return _sparse_members(mask)
    digits = bin(mask)
    last = len(digits) - 1
    found = [last - one.start() for one in _ONE.finditer(digits)]
    found.reverse()
    return found


def _sparse_members(mask: int) -> list[int]:
    """`_members` of a bit set with few members: its 64-bit words, the non-zero ones
    found in C, then the bits of each in Python. Writing out and searching all the
    binary digits (a character per entry) costs more for a handful of members among
    100,000 entries (≈ 95 µs against ≈ 35), the two about even near one member in
    150 entries: SPARSE keeps a margin."""
    words = array("Q", mask.to_bytes((mask.bit_length() + 63) // 64 * 8, "little"))
    if sys.byteorder == "big":
        words.byteswap()
    found = []
    for n in itertools.compress(range(len(words)), words):
        word = words[n]
        base = n << 6
        while word:
            low = word & -word
            found.append(base + low.bit_length() - 1)
            word ^= low
    return found


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


def _settled(
    scored: list[tuple[float, int, UnitRef]], limit: int, following: float, after: int
) -> bool:
    """Whether `limit` distinct units already rank before any candidate not yet
    compared: `following` is the highest ratio one could reach and `after` the entry
    of the next (scored: sorted best first). A ratio above `following` ranks before
    them all; one equal to it before them too if its entry comes first, since ties
    rank in entry order and the candidates of that bound come in entry order (names
    of equal length often tie: "xa bac bac ho", "xa bac bao an", …)."""
    seen: set[tuple[int, str]] = set()
    for ratio, i, ref in scored:
        if ratio < following or (ratio == following and i > after):
            return False
        seen.add((ref.unit_id, ref.ranking))
        if len(seen) == limit:
            return True
    return False
