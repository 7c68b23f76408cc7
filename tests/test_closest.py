"""ranking.text.closest: difflib's closest match, with candidates that cannot reach the
cutoff left out first by a bound computed in C. It must give difflib's answer, always."""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from ranking.text import closest

# few letters and spaces: names that share most of their characters, so that many
# candidates sit near the cutoff, where a bound too tight would lose one
names = st.text(alphabet="abcdeođ ", max_size=14)


@settings(max_examples=2000, deadline=None)
@given(
    key=names,
    candidates=st.lists(names, max_size=25),
    cutoff=st.sampled_from([0.5, 0.6, 0.75, 0.85, 0.9, 1.0]),
)
def test_closest_is_difflibs_closest(key: str, candidates: list[str], cutoff: float) -> None:
    expected = difflib.get_close_matches(key, candidates, 1, cutoff)
    assert closest(key, candidates, cutoff) == (expected[0] if expected else None)


def test_a_name_exactly_at_the_cutoff_is_kept() -> None:
    # ratio 2·3/10 = 0.6 on both sides: a prefilter asked for 0.6 - 1e-9 dropped it
    assert closest("aaa ", ["aaaaaa"], 0.6) == "aaaaaa"


def test_a_name_at_the_cutoff_is_kept() -> None:
    # "so tai chinh" against "so tai chinhx": ratio 24/25 = 0.96 exactly on both sides
    key, near = "so tai chinh", "so tai chinhx"
    cutoff = difflib.SequenceMatcher(None, key, near).ratio()
    assert closest(key, [near, "xa bat xat"], cutoff) == near
    assert closest(key, ["xa bat xat"], 0.85) is None
