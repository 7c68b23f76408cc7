"""The unit index (bit sets of entries) against the index it replaced, kept as the
oracle in tests/support/lookup_oracle.py: the same matches, in the same order, and
the same "did you mean" offers, for generated names, aliases, rankings and queries,
below and above the size where the similarity search narrows its candidates, and
with either bound on its ratio (characters shared, or rapidfuzz's LCS)."""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ranking import lookup
from ranking.lookup import LCS_BOUND_ABOVE, SIMILAR_SCAN_LIMIT, UnitIndex
from ranking.text import expand
from tests.support import lookup_oracle

# few syllables, so that names share words, prefixes and near spellings often
SYLLABLES = ["Bắc", "Bát", "Hà", "Hải", "Sơn", "Sở", "Tài", "Tân", "chính", "An", "xã", "X"]
RANKINGS = ["cds", "dti", "other"]
EXAMPLES = 10_000 if os.environ.get("RANKBOT_LONG") else 300

Entries = list[tuple[int, str, str, str]]


def shown(result: object) -> tuple[list[tuple[int, str, str]], list[tuple[int, str, str]]]:
    def rows(refs: object) -> list[tuple[int, str, str]]:
        return [(r.unit_id, r.ranking, r.name) for r in refs]  # type: ignore[attr-defined]

    return rows(result.matches), rows(result.suggestions)  # type: ignore[attr-defined]


def assert_same(entries: Entries, queries: list[str]) -> None:
    new, old = UnitIndex(entries), lookup_oracle.UnitIndex(entries)
    for query in queries:
        for ranking in (None, *RANKINGS, "nope"):
            assert shown(new.search(query, ranking)) == shown(old.search(query, ranking)), (
                query,
                ranking,
            )


names = st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=4).map(" ".join)


@st.composite
def indexes(draw: st.DrawFn, max_units: int = 12) -> Entries:
    units = draw(st.lists(st.tuples(names, st.sampled_from(RANKINGS)), max_size=max_units))
    entries = [(uid, ranking, name, expand(name)) for uid, (name, ranking) in enumerate(units)]
    # aliases: further keys of a unit, and keys shared by two units
    for uid in draw(st.lists(st.integers(0, max(0, len(units) - 1)), max_size=3)):
        if units:
            name, ranking = units[uid]
            entries.append((uid, ranking, name, expand(draw(names))))
    # keys as a store might hold them though `expand` never makes them: spaced
    # otherwise (the phrase tier checks those one by one), empty
    for key in draw(st.lists(st.text(alphabet="ab \t", max_size=6), max_size=2)):
        entries.append((len(entries), draw(st.sampled_from(RANKINGS)), "Ab", key))
    return entries


def typed(word: str, how: int) -> str:
    """A word as typed: cut short, one letter changed, doubled, or as it is."""
    if how == 0 and len(word) > 1:
        return word[: len(word) // 2 + 1]
    if how == 1:
        return word[:-1] + "x"
    if how == 2:
        return word + word[-1]
    return word


queries = st.one_of(
    names,
    st.lists(st.tuples(st.sampled_from(SYLLABLES), st.integers(0, 3)), min_size=1, max_size=4).map(
        lambda parts: " ".join(typed(w, how) for w, how in parts)
    ),
    st.text(max_size=12),
    st.text(alphabet="ab ", max_size=6),
)


@settings(max_examples=EXAMPLES)
@given(entries=indexes(), query_list=st.lists(queries, min_size=1, max_size=4))
@example(entries=[], query_list=["", "so"])
@example(entries=[(1, "cds", "Sở Tài chính", "so tai chinh")], query_list=["tai chinhh"])
def test_small_index_answers_as_before(entries: Entries, query_list: list[str]) -> None:
    assert len(entries) <= LCS_BOUND_ABOVE  # bounded by the characters shared
    assert_same(entries, query_list)


@settings(max_examples=EXAMPLES)
@given(entries=indexes(), query_list=st.lists(queries, min_size=1, max_size=4))
@example(entries=[(1, "cds", "Sở Tài chính", "so tai chinh")], query_list=["tai chinhh"])
def test_small_index_answers_as_before_with_the_lcs_bound(
    entries: Entries, query_list: list[str]
) -> None:
    """The bound a large index uses, on small ones too: either bound, the same offers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lookup, "LCS_BOUND_ABOVE", -1)
        assert_same(entries, query_list)


# words of a few names only: stored as arrays of entries, not bit sets
RARE = ["Mường", "Mương", "Mười", "Khương", "Khánh"]


def big_entries() -> Entries:
    """More entries than SIMILAR_SCAN_LIMIT: the similarity search narrows to the
    names sharing all words but one."""
    entries = []
    n = len(SYLLABLES)
    for uid in range(SIMILAR_SCAN_LIMIT + 200):
        words = [SYLLABLES[uid % n], SYLLABLES[uid // n % n], SYLLABLES[uid // n // n % n]]
        if uid % 17 == 0:
            words.insert(uid % 3, RARE[uid % len(RARE)])
        name = " ".join(words)
        entries.append((uid, RANKINGS[uid % 7 % 3], name, expand(name)))
    entries.append((3, RANKINGS[3 % 7 % 3], entries[3][2], "so tai chinh"))
    return entries


BIG = big_entries()
assert len(BIG) > LCS_BOUND_ABOVE  # the large index is bounded by rapidfuzz's LCS
BIG_NEW, BIG_OLD = UnitIndex(BIG), lookup_oracle.UnitIndex(BIG)


big_queries = st.one_of(
    queries,
    st.lists(
        st.tuples(st.sampled_from(SYLLABLES + RARE), st.integers(0, 3)), min_size=1, max_size=4
    ).map(lambda parts: " ".join(typed(w, how) for w, how in parts)),
)


@settings(max_examples=EXAMPLES)
@given(query=big_queries, ranking=st.sampled_from([None, *RANKINGS]))
@example(query="Bắc Hà Sơx", ranking=None)
@example(query="mu kh", ranking=None)
@example(query="Bắc Hà", ranking="dti")
def test_large_index_answers_as_before(query: str, ranking: str | None) -> None:
    assert shown(BIG_NEW.search(query, ranking)) == shown(BIG_OLD.search(query, ranking))


@given(st.sets(st.integers(0, 5000)))
def test_bit_sets_hold_their_members(found: set[int]) -> None:
    ordered = sorted(found)
    assert lookup._members(lookup._mask_of(ordered)) == ordered
    assert lookup._members(lookup._mask_of([*reversed(ordered), *ordered])) == ordered
    if ordered:
        packed = lookup._packed(ordered)
        members = lookup._members(packed) if isinstance(packed, int) else list(packed)
        assert members == ordered


def test_pairs_dropped_beyond_the_limit_answer_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two-word runs found on first use are kept up to PAIRS_KEPT; the oldest
    is dropped for a new one, and found again when asked again."""
    monkeypatch.setattr(lookup, "PAIRS_KEPT", 2)
    index = UnitIndex(BIG)
    queries = ["bac ha", "ha son", "son so", "bac ha", "tan an xa", "bac ha son"]
    for query in queries * 2:
        assert shown(index.search(query)) == shown(BIG_OLD.search(query))
        assert len(index._pairs) <= 2


@settings(max_examples=EXAMPLES)
@given(
    query_list=st.lists(big_queries, min_size=1, max_size=3),
    rankings=st.lists(st.sampled_from([None, *RANKINGS, "nope"]), min_size=1, max_size=4),
)
@example(query_list=["Bắc Hà Sơx", "Sở Tài Sơx"], rankings=["cds", None, "dti", None])
def test_large_index_reuses_a_near_miss_search_only_for_its_text(
    query_list: list[str], rankings: list[str | None]
) -> None:
    """The last near-miss search's candidates are kept for the same text in another
    ranking (find_units asks the default ranking, then all): every order of texts and
    rankings answers as a fresh search does."""
    index = UnitIndex(BIG)
    for query in query_list:
        for ranking in rankings:
            assert shown(index.search(query, ranking)) == shown(BIG_OLD.search(query, ranking))


words = st.text(alphabet="abcxyz ăđơ", max_size=12)


@settings(max_examples=EXAMPLES)
@given(key=words.filter(str.strip), names=st.lists(words, max_size=30))
@example(key="abc", names=["abc", "abx", "xbc", "abc", "ab", "abcc"])
@example(key="a ", names=["a", " a"])  # a small index ranks by another bound
def test_candidates_come_in_order_of_the_exact_bound(key: str, names: list[str]) -> None:
    """rapidfuzz ranks the candidates by its own float of 2·LCS / (len + len): the
    order, ties in index order, is that of the exact bound, and every name whose bound
    reaches the near-miss cutoff is among them."""
    from rapidfuzz.distance import LCSseq

    index = UnitIndex([(n, "cds", name, name) for n, name in enumerate(names)])
    with pytest.MonkeyPatch.context() as patch:  # the rapidfuzz ranking of a large index
        patch.setattr(lookup, "LCS_BOUND_ABOVE", -1)
        ranked = index._ranked(key)
    entries = list(ranked.entries())
    bounds = [2.0 * LCSseq.similarity(key, k) / (len(key) + len(k)) for k in names]
    expected = sorted(range(len(names)), key=lambda i: (-bounds[i], i))
    reaching = [i for i in expected if bounds[i] >= lookup.NEAR]
    assert entries[: len(reaching)] == reaching
    assert all(bounds[i] < lookup.NEAR for i in entries[len(reaching) :])


@given(st.sets(st.integers(0, 200_000), max_size=60), st.integers(0, 200_000))
def test_sparse_bit_sets_hold_their_members(found: set[int], highest: int) -> None:
    """Few members among many entries take the word-by-word path of `_members`."""
    ordered = sorted({*found, highest})
    mask = lookup._mask_of(ordered)
    assert lookup._members(mask) == lookup._sparse_members(mask) == ordered
