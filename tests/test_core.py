"""Pure helpers: ranks, numbers, text folding, unit lookup."""

import re
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ranking.importer import _NUMBER_LIKE, NUMERIC_KEYS, _decimal_mark, _spellings
from ranking.lookup import UnitIndex
from ranking.numbers import NotANumber, _parse_written, infer_decimal_mark, parse_number
from ranking.ranks import competition_ranks, gaps
from ranking.reader import RawRow, RawTable, Value
from ranking.text import ABBREVIATIONS, expand, fold, strip_marks


def test_competition_ranking() -> None:
    scores = [Decimal(x) for x in ("5", "7", "7", "1")]
    assert competition_ranks(scores) == [3, 1, 1, 4]


@given(st.lists(st.decimals(min_value=0, max_value=1000, places=2), min_size=1, max_size=30))
def test_competition_ranks_are_one_plus_strictly_better(scores: list[Decimal]) -> None:
    ranks = competition_ranks(scores)
    for score, rank in zip(scores, ranks, strict=True):
        assert rank == 1 + sum(other > score for other in scores)


def test_gaps_know_ties_take_two_places() -> None:
    assert gaps([1, 2, 3, 9], 1, 9) == [(4, 8)]
    assert gaps([1, 2, 3, 9], 1, 5) == [(4, 5)]
    assert gaps([15, 15, 17], 15, 17) == []  # 15, 15 cover 15 and 16
    assert gaps([], 1, 3) == [(1, 3)]


@pytest.mark.parametrize(
    ("text", "mark", "value"),
    [
        ("731,61", ",", "731.61"),
        ("1.000", ",", "1000"),
        ("731.61", ".", "731.61"),
        ("0.8002", ".", "0.8002"),
        ("1.234.567,5", ",", "1234567.5"),
        ("235,40", ",", "235.40"),
        (" 402,00 ", ",", "402.00"),
        ("1,000", ".", "1000"),
        ("1 000,5", ",", "1000.5"),
    ],
)
def test_numbers_in_both_forms(text: str, mark: str, value: str) -> None:
    parsed = parse_number(text, mark)  # type: ignore[arg-type]
    assert parsed == Decimal(value)
    assert str(parsed) == value  # trailing zeros kept: never rounded away


@pytest.mark.parametrize("text", ["abc", "", "1,2,3", "12.5", "7-", "1.00.0", "1e5"])
def test_not_numbers(text: str) -> None:
    with pytest.raises(NotANumber):
        parse_number(text, ",")


def test_decimal_mark_inference() -> None:
    assert infer_decimal_mark(["1.000", "731,61"]) == ","
    assert infer_decimal_mark(["1", "731.61"]) == "."
    assert infer_decimal_mark(["0.638"]) == "."  # "0.638" cannot be a thousands group
    assert infer_decimal_mark(["1.000"]) == ","  # undecided: Vietnamese


@given(st.text(alphabet="0123456789.,+- '\u00a0٣", max_size=12), st.sampled_from([",", "."]))
def test_the_plain_spellings_read_as_every_spelling_does(text: str, mark: str) -> None:
    # parse_number reads "947.64" and "1000" without the general steps: same value, digits
    try:
        expected: Decimal | None = _parse_written(text, mark)  # type: ignore[arg-type]
    except NotANumber:
        expected = None
    try:
        parsed: Decimal | None = parse_number(text, mark)  # type: ignore[arg-type]
    except NotANumber:
        parsed = None
    assert str(parsed) == str(expected)


@given(st.decimals(min_value=0, max_value=10**6, places=2))
def test_numbers_round_trip_vietnamese_form(value: Decimal) -> None:
    whole, _, frac = f"{value:.2f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    assert parse_number(f"{grouped},{frac}", ",") == value


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ban Tuyên giáo Tỉnh uỷ", "ban tuyen giao tinh ủy"),
        ("Hoà", "hòa"),
        ("Đài", "dai"),
        ("B\u1eafc H\u00e0", "Ba\u0306\u0301c Ha\u0300"),  # NFC vs NFD
    ],
)
def test_fold_equalities(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("Sở GD&ĐT", "Sở Giáo dục và Đào tạo"),
        ("so gddt", "Sở Giáo dục và Đào tạo"),
        ("Sở TT&TT", "Sở Thông tin và Truyền thông"),
        ("Sở KH&ĐT", "Sở Kế hoạch và Đầu tư"),
        ("Sở LĐ-TB&XH", "Sở Lao động - Thương binh và Xã hội"),
        ("Sở NN&PTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
        ("Sở KH&CN", "Sở Khoa học và Công nghệ"),
        ("Đài PT-TH", "Đài Phát thanh - Truyền hình"),
        ("VP UBND tỉnh", "Văn phòng Ủy ban nhân dân tỉnh"),
        ("Văn phòng UBND tỉnh", "Văn phòng Uỷ ban nhân dân tỉnh"),
    ],
)
def test_abbreviations_expand(short: str, long: str) -> None:
    assert expand(short) == expand(long)


def _expand_as_first_written(text: str) -> str:
    """expand as it was first written (each step spelled out): the name keys on
    record were made by it, so expand must give the same key for every text."""
    bare = strip_marks(text)

    def joined(match: re.Match[str]) -> str:
        key = re.sub(r"[^a-z]", "", match.group(0))
        return f" {ABBREVIATIONS[key]} " if key in ABBREVIATIONS else match.group(0)

    bare = re.sub(r"[a-z]+(?:\s*[&\-]\s*[a-z]+)+", joined, bare)
    words = re.sub(r"[^a-z0-9]+", " ", bare).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words)


_NAME_PARTS = st.sampled_from(
    ["Sở", "GD", "ĐT", "LĐ", "TB", "XH", "PT", "TH", "UBND", "tp", "VP", "gd", "Lào Cai", "x", "2"]
)
_JOINERS = st.sampled_from([" ", "&", "-", " - ", " & ", "–", ".", ",", "", "\t", "/", "_"])


@given(
    st.lists(st.tuples(_NAME_PARTS, _JOINERS), max_size=8).map(
        lambda parts: "".join(a + b for a, b in parts)
    )
    | st.text(max_size=40)
)
def test_expand_gives_the_key_it_always_gave(text: str) -> None:
    assert expand(text) == _expand_as_first_written(text)


def _index() -> UnitIndex:
    names = [
        "Sở Giáo dục và Đào tạo",
        "Sở Tài chính",
        "Sở Du lịch",
        "Huyện Bắc Hà",
        "Thành phố Lào Cai",
        "Ban Tuyên giáo Tỉnh uỷ",
        "Văn phòng UBND tỉnh",
        "Sở Nội vụ",
        "Sở Khoa học và Công nghệ",
    ]
    return UnitIndex([(i, "cds", n, expand(n)) for i, n in enumerate(names)])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("giao duc", "Sở Giáo dục và Đào tạo"),
        ("so gd&dt", "Sở Giáo dục và Đào tạo"),
        ("SỞ GIÁO DỤC", "Sở Giáo dục và Đào tạo"),
        ("bac ha", "Huyện Bắc Hà"),
        ("bắc hà", "Huyện Bắc Hà"),
        ("tuyen giao", "Ban Tuyên giáo Tỉnh uỷ"),
        ("tinh uy", "Ban Tuyên giáo Tỉnh uỷ"),
        ("vp ubnd", "Văn phòng UBND tỉnh"),
        ("lao cai", "Thành phố Lào Cai"),
        ("tp lao cai", "Thành phố Lào Cai"),
        ("so du lich", "Sở Du lịch"),
        ("khcn", "Sở Khoa học và Công nghệ"),
    ],
)
def test_lookup_variants(query: str, expected: str) -> None:
    result = _index().search(query)
    assert [m.name for m in result.matches] == [expected]


def test_lookup_several_matches_is_a_choice() -> None:
    result = _index().search("so")
    assert len(result.matches) > 3
    assert all(m.name.startswith("Sở") for m in result.matches)


def test_lookup_near_miss_suggests() -> None:
    result = _index().search("bac haa")
    assert result.matches == []
    assert [s.name for s in result.suggestions] == ["Huyện Bắc Hà"]
    result = _index().search("so tai chin")  # prefix still matches
    assert [m.name for m in result.matches] == ["Sở Tài chính"]
    result = _index().search("tai chinhh")
    assert [s.name for s in result.suggestions] == ["Sở Tài chính"]


def test_lookup_nothing() -> None:
    result = _index().search("zzzz qqqq")
    assert result.matches == [] and result.suggestions == []


def _strip_marks_whole(text: str) -> str:
    """strip_marks as defined: the whole text in NFD, every combining mark removed."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d").replace("Đ", "D").lower()


@given(
    st.text(
        st.one_of(
            st.characters(min_codepoint=0x20, max_codepoint=0x24F),
            st.characters(min_codepoint=0x300, max_codepoint=0x36F),  # combining marks
            st.characters(min_codepoint=0x1E00, max_codepoint=0x1EFF),  # Vietnamese
            st.characters(),
        ),
        max_size=30,
    )
)
def test_marks_are_stripped_a_character_at_a_time_as_from_the_whole_text(text: str) -> None:
    assert strip_marks(text) == _strip_marks_whole(text)
    nfd = unicodedata.normalize("NFD", text)
    assert strip_marks(nfd) == strip_marks(unicodedata.normalize("NFC", text))


def test_marks_stripped_from_vietnamese() -> None:
    assert strip_marks("Ủy ban nhân dân tỉnh Lào Cai") == "uy ban nhan dan tinh lao cai"
    assert strip_marks("uỷ") == strip_marks("ủy") == "uy"
    assert strip_marks(unicodedata.normalize("NFD", "Đội Bắc Hà")) == "doi bac ha"


_MARK_CELLS = st.one_of(
    st.none(),
    st.sampled_from(["1.000", "731,61", "0.638", "12 %", "1,000", "x", "Huyện", "", "73.16"]),
    st.text(alphabet="0123456789.,% x", max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)


@given(
    st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(["nam", "diem", "hang", "ty_le", "don_vi"]), _MARK_CELLS
            ),
            st.dictionaries(st.sampled_from(["Chỉ số 1", "Tỷ lệ (%)"]), _MARK_CELLS),
        ),
        max_size=12,
    )
)
def test_the_decimal_mark_is_the_one_the_row_by_row_texts_decide(
    rows: list[tuple[dict[str, Value], dict[str, Value]]],
) -> None:
    # the column-by-column look for number-like texts decides as the row by row one did
    table = RawTable(
        kind="csv",
        encoding=None,
        delimiter=None,
        sheet=None,
        header_row=1,
        columns={},
        column_letters={},
        extra_columns=[],
        rows=[RawRow.of(i + 2, cells, extras) for i, (cells, extras) in enumerate(rows)],
    )
    row_by_row = (
        v.replace("%", "")
        for row in table.rows
        for v in (*(row.cells.get(k) for k in NUMERIC_KEYS), *row.extras.values())
        if isinstance(v, str) and _NUMBER_LIKE.fullmatch(v)
    )
    assert _decimal_mark(table) == infer_decimal_mark(row_by_row)


@given(
    st.lists(st.sampled_from([Decimal("1000"), Decimal("1E+3"), Decimal("1000.0"), Decimal(7)])),
    st.booleans(),
)
def test_spellings_are_the_texts_of_the_values(values: list[Decimal], shared: bool) -> None:
    # one object repeated (as a memo hands it out) or equal values spelled apart
    values = [values[0]] * len(values) if shared and values else values
    assert _spellings(values) == set(map(str, values))
