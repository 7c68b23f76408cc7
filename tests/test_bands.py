"""Level bands of Decision 791: strict thresholds, exact arithmetic."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ranking.bands import level_for, match_level, share
from ranking.catalog import Catalog, load_catalog

CATALOG = load_catalog()  # module-level: hypothesis reruns a test, not its fixtures
MAXES = [Decimal(750), Decimal(800), Decimal(1000)]


def code(catalog: Catalog, score: str | Decimal, max_score: Decimal) -> str:
    level = level_for(Decimal(score), max_score, catalog.levels("cds"))
    assert level is not None
    return level.code


@pytest.mark.parametrize(
    ("score", "max_score", "expected"),
    [
        ("562.5", 750, "nang_cao"),  # exactly 75 % of 750
        ("562.51", 750, "dan_dat"),
        ("500", 1000, "hinh_thanh"),  # exactly 50 %
        ("500.01", 1000, "nang_cao"),
        ("250", 1000, "khoi_dong"),  # exactly 25 %
        ("250.001", 1000, "hinh_thanh"),
        ("600", 800, "nang_cao"),  # exactly 75 % of 800
        ("400", 800, "hinh_thanh"),
        ("200", 800, "khoi_dong"),
        ("0", 750, "khoi_dong"),
        ("1000", 1000, "dan_dat"),
        ("235.40", 1000, "khoi_dong"),  # Sở Du lịch
    ],
)
def test_boundaries(catalog: Catalog, score: str, max_score: int, expected: str) -> None:
    assert code(catalog, score, Decimal(max_score)) == expected


@given(
    max_score=st.sampled_from(MAXES),
    threshold=st.sampled_from(["0.25", "0.50", "0.75"]),
    below=st.booleans(),
    epsilon=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(5), places=4),
)
def test_exact_threshold_belongs_to_the_lower_band(
    max_score: Decimal, threshold: str, below: bool, epsilon: Decimal
) -> None:
    levels = CATALOG.levels("cds")
    at = Decimal(threshold) * max_score
    lower = {"0.75": "nang_cao", "0.50": "hinh_thanh", "0.25": "khoi_dong"}[threshold]
    upper = {"0.75": "dan_dat", "0.50": "nang_cao", "0.25": "hinh_thanh"}[threshold]
    assert level_for(at, max_score, levels).code == lower  # type: ignore[union-attr]
    score = at - epsilon if below else at + epsilon
    expected = lower if below else upper
    assert level_for(score, max_score, levels).code == expected  # type: ignore[union-attr]


@given(
    max_score=st.sampled_from(MAXES),
    score=st.decimals(min_value=0, max_value=1000, places=3),
)
def test_band_agrees_with_share_definition(max_score: Decimal, score: Decimal) -> None:
    score = min(score, max_score)
    ratio = score / max_score  # exact enough at 28 digits for a comparison model
    expected = (
        "dan_dat"
        if ratio > Decimal("0.75")
        else "nang_cao"
        if ratio > Decimal("0.5")
        else "hinh_thanh"
        if ratio > Decimal("0.25")
        else "khoi_dong"
    )
    assert code(CATALOG, score, max_score) == expected


def test_share_does_not_round_onto_a_threshold(catalog: Catalog) -> None:
    levels = catalog.levels("cds")
    assert share(Decimal("562.51"), Decimal(750), levels) == Decimal("75.001")
    assert share(Decimal("562.5"), Decimal(750), levels) == Decimal("75.00")
    assert share(Decimal("625.3"), Decimal(1000), levels) == Decimal("62.53")


def test_published_level_matching(catalog: Catalog) -> None:
    levels = catalog.levels("cds")
    assert match_level("Nâng cao", levels).code == "nang_cao"  # type: ignore[union-attr]
    assert match_level("NANG CAO", levels).code == "nang_cao"  # type: ignore[union-attr]
    assert match_level("Hoàn thành", levels) is None  # not a level of the decision


def test_rankings_without_bands_have_no_level(catalog: Catalog) -> None:
    assert level_for(Decimal("0.8"), Decimal(1), catalog.levels("dti")) is None
