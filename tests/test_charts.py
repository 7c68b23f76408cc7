"""bot.charts: valid PNGs, bars in ranking order and coloured by level (checked on
the pixels, not only on what the code says it drew), Vietnamese without tofu,
and a cache that does not render twice.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from decimal import Decimal

import numpy as np
import pytest
from matplotlib import font_manager, ft2font
from matplotlib.colors import to_rgb
from PIL import Image

from bot.charts import (
    DPI,
    EXTRA_IN,
    FONT_FAMILY,
    LEVEL_COLORS,
    MAX_ROWS,
    NAME_WIDTH,
    NO_LEVEL_COLOR,
    ROW_IN,
    WIDTH_IN,
    ChartCache,
    RankingChart,
    draw_ranking_chart,
    history_chart,
    ranking_chart,
)
from bot.i18n import Translator

D = Decimal
FMT = Translator("vi").number
THRESHOLDS = [(D("0.25"), "25 %"), (D("0.50"), "50 %"), (D("0.75"), "75 %")]
LEGEND = {
    "dan_dat": "Dẫn dắt",
    "nang_cao": "Nâng cao",
    "hinh_thanh": "Hình thành",
    "khoi_dong": "Khởi động",
}
UNPUBLISHED = "chưa được công bố"
# The 2022 huyện group as shipped: ranks 4–8 were not published.
HUYEN_2022 = [
    (1, "Thành phố Lào Cai", D("651.93"), "nang_cao"),
    (2, "Huyện Bắc Hà", D("585.45"), "nang_cao"),
    (3, "Huyện Bát Xát", D("585.22"), "nang_cao"),
    *[(rank, "", None, None) for rank in range(4, 9)],
    (9, "Huyện Văn Bàn", D("449.13"), "hinh_thanh"),
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_missing_glyphs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Any warning (matplotlib's "Glyph … missing from font(s)") fails the test,
    and so does a findfont complaint in the log."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING, logger="matplotlib"):
            yield
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]


def draw(
    rows: Sequence[tuple[int, str, Decimal | None, str | None]], **kw: object
) -> RankingChart:
    args: dict[str, object] = {
        "max_score": D(1000),
        "title": "Xếp hạng chuyển đổi số 2022 · Huyện, thị xã, thành phố",
        "thresholds": THRESHOLDS,
        "legend": LEGEND,
        "unpublished_label": UNPUBLISHED,
        "fmt": FMT,
        **kw,
    }
    return draw_ranking_chart(rows, **args)  # type: ignore[arg-type]


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=int)


def rgb(color: str) -> tuple[int, int, int]:
    r, g, b = to_rgb(color)
    return round(r * 255), round(g * 255), round(b * 255)


def mask(img: np.ndarray, color: str, tolerance: int = 3) -> np.ndarray:
    """Where the image has this colour (each channel within `tolerance`)."""
    hits: np.ndarray = np.all(np.abs(img - np.array(rgb(color))) <= tolerance, axis=-1)
    return hits


PALETTE = {**LEVEL_COLORS, "none": NO_LEVEL_COLOR}


def bar_count(img: np.ndarray, x: int) -> list[tuple[str, int, int]]:
    """(colour name, first y, last y) of each run of ≥ 6 px of a bar colour
    crossing pixel column x, top to bottom."""
    runs: list[tuple[str, int, int]] = []
    for name, color in PALETTE.items():
        ys = np.flatnonzero(mask(img[:, x : x + 1], color)[:, 0])
        if not len(ys):
            continue
        breaks = np.flatnonzero(np.diff(ys) > 1)
        for first, last in zip([ys[0], *ys[breaks + 1]], [*ys[breaks], ys[-1]], strict=True):
            if last - first >= 5:
                runs.append((name, int(first), int(last)))
    return sorted(runs, key=lambda r: r[1])


def longest_run(row_mask: np.ndarray) -> int:
    best = current = 0
    for hit in row_mask:
        current = current + 1 if hit else 0
        best = max(best, current)
    return best


# --------------------------------------------------------------------------- the picture


def test_png_is_valid_and_phone_sized() -> None:
    chart = draw(HUYEN_2022)
    assert chart.png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(chart.png)) as image:
        image.verify()
    with Image.open(io.BytesIO(chart.png)) as image:
        size = image.size
    shown_rows = 5  # 1, 2, 3, "4–8", 9
    assert size == (chart.width, chart.height)
    assert size == (round(WIDTH_IN * DPI), round((ROW_IN * shown_rows + EXTRA_IN) * DPI))
    assert 20_000 < len(chart.png) < 200_000
    same = ranking_chart(
        HUYEN_2022,
        max_score=D(1000),
        title="Xếp hạng chuyển đổi số 2022 · Huyện, thị xã, thành phố",
        thresholds=THRESHOLDS,
        legend=LEGEND,
        unpublished_label=UNPUBLISHED,
        fmt=FMT,
    )
    assert same == chart.png  # the same picture: deterministic, so cacheable


def test_bars_in_ranking_order_best_at_the_top() -> None:
    chart = draw(HUYEN_2022)
    assert [(r.first_rank, r.last_rank) for r in chart.rows] == [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 8),
        (9, 9),
    ]
    assert [r.label for r in chart.rows] == [
        "1. Thành phố Lào Cai",
        "2. Huyện Bắc Hà",
        "3. Huyện Bát Xát",
        "4–8",
        "9. Huyện Văn Bàn",
    ]
    centres = [(r.label_box[1] + r.label_box[3]) / 2 for r in chart.rows]
    assert centres == sorted(centres)  # top to bottom in rank order
    for row, centre in zip(chart.rows, centres, strict=True):
        if row.bar is not None:
            assert row.bar[1] < centre < row.bar[3]  # each label beside its own bar

    # On the pixels alone: one column just right of the axis crosses the bars
    # top to bottom in ranking order, with the level colours.
    img = pixels(chart.png)
    x = round(chart.plot_box[0]) + 4
    runs = bar_count(img, x)
    assert [name for name, _, _ in runs] == ["nang_cao", "nang_cao", "nang_cao", "hinh_thanh"]
    drawn = [r for r in chart.rows if r.bar is not None]
    for (_, top, bottom), row in zip(runs, drawn, strict=True):
        assert row.bar is not None
        assert abs(top - row.bar[1]) <= 1.5 and abs(bottom - row.bar[3]) <= 1.5


def test_bar_lengths_are_the_scores() -> None:
    chart = draw(HUYEN_2022)
    img = pixels(chart.png)
    left, _, right, _ = chart.plot_box
    per_point = (right - left) / 1000
    lines = [round(x) for x in chart.threshold_x]
    assert [round((x - left) / per_point) for x in chart.threshold_x] == [250, 500, 750]
    for row in chart.rows:
        if row.bar is None or row.score is None or row.color is None:
            continue
        y = round((row.bar[1] + row.bar[3]) / 2) - 8  # above the printed score
        end = left + float(row.score) * per_point
        # the bar's colour runs from the axis to the score and stops there
        inside = [
            x
            for x in range(round(left) + 3, round(end) - 2)
            if all(abs(x - line) > 2 for line in lines)  # the dashed lines cross bars
        ]
        assert mask(img[y : y + 1, inside], row.color, 6).all(), row.label
        assert not mask(img[y : y + 1, round(end) + 2 : 790], row.color, 30).any()
        assert row.value_text == FMT(row.score)
        assert row.value_box[0] >= end  # the score is printed after the bar's end


def test_unpublished_rows_have_no_bar() -> None:
    chart = draw(HUYEN_2022)
    img = pixels(chart.png)
    gap = chart.rows[3]
    assert gap.bar is None and gap.color is None and gap.value_text == UNPUBLISHED
    top, bottom = round(gap.label_box[1]), round(gap.label_box[3])
    band = img[top:bottom, round(chart.plot_box[0]) + 2 : round(chart.plot_box[2])]
    # text antialiasing may touch a bar colour here and there; a bar is a long run
    for color in PALETTE.values():
        hits = mask(band, color)
        assert max(longest_run(line) for line in hits) < 8, color


def test_every_level_has_its_colour_and_no_level_is_grey() -> None:
    rows: list[tuple[int, str, Decimal | None, str | None]] = [
        (1, "Đơn vị A", D("900"), "dan_dat"),
        (2, "Đơn vị B", D("700"), "nang_cao"),
        (3, "Đơn vị C", D("450"), "hinh_thanh"),
        (4, "Đơn vị D", D("200"), "khoi_dong"),
        (5, "Đơn vị E", D("150"), None),
        (6, "Đơn vị F", None, None),  # rank published, score not
        (7, "Đơn vị G", D("100"), "mức lạ"),
    ]
    chart = draw(rows)
    assert [r.color for r in chart.rows] == [
        LEVEL_COLORS["dan_dat"],
        LEVEL_COLORS["nang_cao"],
        LEVEL_COLORS["hinh_thanh"],
        LEVEL_COLORS["khoi_dong"],
        NO_LEVEL_COLOR,
        None,
        NO_LEVEL_COLOR,
    ]
    assert chart.rows[5].label == "6. Đơn vị F" and chart.rows[5].value_text == UNPUBLISHED
    img = pixels(chart.png)
    runs = bar_count(img, round(chart.plot_box[0]) + 4)
    assert [n for n, _, _ in runs] == [
        "dan_dat",
        "nang_cao",
        "hinh_thanh",
        "khoi_dong",
        "none",
        "none",
    ]
    # the legend lists the four levels present, in the catalogue's order
    legend_img = img[round(chart.plot_box[3]) + 20 :, :]
    for color in LEVEL_COLORS.values():
        assert mask(legend_img, color).sum() > 50


def test_legend_lists_only_levels_present() -> None:
    chart = draw(HUYEN_2022)
    img = pixels(chart.png)
    below = img[round(chart.plot_box[3]) + 20 :, :]
    present = {n for n, c in LEVEL_COLORS.items() if mask(below, c).sum() > 50}
    assert present == {"nang_cao", "hinh_thanh"}


def test_long_names_are_wrapped_then_shortened() -> None:
    long_name = "Sở Nông nghiệp và Phát triển nông thôn " * 3
    chart = draw([(1, long_name.strip(), D("500"), "hinh_thanh")])
    label = chart.rows[0].label
    first, second = label.split("\n")
    assert first.startswith("1. Sở Nông nghiệp")
    assert len(first) <= NAME_WIDTH + 3 and len(second) <= NAME_WIDTH
    assert second.endswith("…")
    assert draw([(1, "Sở Nông nghiệp và Phát triển nông thôn", D("5"), None)]).rows[0].label == (
        "1. Sở Nông nghiệp và Phát triển\nnông thôn"
    )


def test_names_are_text_not_mathtext() -> None:
    name = "Quỹ $\\frac{1}{2$ và $5$"  # even "$": parsed as TeX, this would raise
    chart = draw([(1, name, D(500), None)], title="Tiêu đề $x$")
    assert chart.rows[0].label == f"1. {name}"
    history_chart([(2022, D(5), 1)], title="$x$", fmt=lambda d: f"${d}", rank_text=str)


def test_scores_reach_the_formatter_as_decimals() -> None:
    seen: list[object] = []

    def fmt(value: Decimal) -> str:
        seen.append(value)
        return FMT(value)

    chart = draw(HUYEN_2022, fmt=fmt)
    assert seen and all(isinstance(v, Decimal) for v in seen)
    assert D("651.93") in seen and D("1000") in seen  # a score and the last x tick
    assert chart.rows[0].value_text == "651,93"


def test_thresholds_at_zero_or_max_are_skipped() -> None:
    chart = draw(HUYEN_2022, thresholds=[(D(0), "0 %"), (D("0.5"), "50 %"), (D(1), "100 %")])
    assert len(chart.threshold_x) == 1


def test_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(ValueError):
        draw([])
    with pytest.raises(ValueError):
        draw(HUYEN_2022, max_score=D(0))
    too_many = [(i, f"Đơn vị {i}", D(1000 - i), None) for i in range(1, MAX_ROWS + 2)]
    with pytest.raises(ValueError):
        draw(too_many)
    # merged unpublished runs count once
    rows = [(1, "A", D(1), None), *[(r, "", None, None) for r in range(2, MAX_ROWS + 50)]]
    assert len(draw(rows).rows) == 2


# --------------------------------------------------------------------------- Vietnamese


VIETNAMESE = (
    "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
)


def test_font_has_every_vietnamese_letter() -> None:
    path = font_manager.findfont(
        font_manager.FontProperties(family=FONT_FAMILY), fallback_to_default=False
    )
    font = ft2font.FT2Font(path)
    letters = VIETNAMESE + VIETNAMESE.upper() + "–…·%"
    missing = [ch for ch in letters if font.get_char_index(ord(ch)) == 0]
    assert missing == []
    assert unicodedata.normalize("NFC", "ạộữĐ") == "ạộữĐ"


def test_vietnamese_renders_without_missing_glyphs() -> None:
    # the autouse fixture turns any "Glyph … missing" warning into a failure
    rows = [(i + 1, w, D(900 - i), "dan_dat") for i, w in enumerate(VIETNAMESE.split("đ"))]
    rows.append((len(rows) + 1, VIETNAMESE.upper()[:28], D(10), "khoi_dong"))
    draw(rows, title="ĐẶNG ỨNG Ữ Ộ Ạ — Tỉnh uỷ Lào Cai")


def test_missing_glyph_detection_works() -> None:
    """Control: a character DejaVu Sans lacks does raise, so the test above
    would catch tofu boxes."""
    with pytest.raises(UserWarning, match="missing from font"):
        draw([(1, "Đơn vị 中", D(500), None)])


def test_history_chart() -> None:
    png = history_chart(
        [(2023, None, 2), (2021, D("610.5"), 3), (2022, D("651.93"), 1)],
        title="Thành phố Lào Cai · điểm qua các năm",
        fmt=FMT,
        rank_text=lambda n: f"hạng {n}",
        max_score=D(1000),
    )
    assert png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (800, 450)
    one = history_chart([(2022, D(5), 1)], title="Đ", fmt=FMT, rank_text=str)
    assert one.startswith(PNG_MAGIC)
    none = history_chart([(2022, None, 4)], title="Đ", fmt=FMT, rank_text=str)
    assert none.startswith(PNG_MAGIC)
    with pytest.raises(ValueError):
        history_chart([], title="", fmt=FMT, rank_text=str)


# --------------------------------------------------------------------------- the cache


def test_cache_renders_once_per_version_and_key() -> None:
    cache = ChartCache(max_entries=2)
    renders: list[str] = []

    def render(tag: str) -> bytes:
        renders.append(tag)
        return PNG_MAGIC + tag.encode()

    first = cache.get_or_render(7, ("vi", "huyen", 2022), lambda: render("a"))
    again = cache.get_or_render(7, ("vi", "huyen", 2022), lambda: render("a"))
    assert again is first and renders == ["a"]
    cache.get_or_render(7, ("en", "huyen", 2022), lambda: render("b"))
    assert renders == ["a", "b"] and len(cache) == 2
    cache.get(7, ("vi", "huyen", 2022))  # touch: ("en", …) is now least recently used
    cache.get_or_render(7, ("vi", "tthc", 2022), lambda: render("c"))
    assert cache.get(7, ("en", "huyen", 2022)) is None
    assert cache.get(7, ("vi", "huyen", 2022)) is first
    # a new data version never serves an old picture, and drops the old ones
    cache.get_or_render(8, ("vi", "huyen", 2022), lambda: render("d"))
    assert renders == ["a", "b", "c", "d"] and len(cache) == 1
    assert cache.get(7, ("vi", "huyen", 2022)) is None


async def test_cache_fetch_shares_one_render_between_concurrent_requests() -> None:
    cache = ChartCache()
    calls = 0
    started = threading.Event()

    def render() -> bytes:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.05)
        return b"png"

    results = await asyncio.gather(*(cache.fetch(1, ("k",), render) for _ in range(5)))
    assert results == [b"png"] * 5 and calls == 1
    assert await cache.fetch(1, ("k",), render) == b"png" and calls == 1
    assert started.is_set() and threading.current_thread() is threading.main_thread()


async def test_cache_fetch_failure_is_not_cached() -> None:
    cache = ChartCache()
    calls = 0

    def broken() -> bytes:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    results = await asyncio.gather(
        cache.fetch(1, "k", broken), cache.fetch(1, "k", broken), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results) and calls == 1
    assert len(cache) == 0
    with pytest.raises(RuntimeError):
        await cache.fetch(1, "k", broken)
    assert calls == 2


async def test_cache_fetch_survives_a_cancelled_requester() -> None:
    cache = ChartCache()

    def render() -> bytes:
        time.sleep(0.05)
        return b"png"

    first = asyncio.create_task(cache.fetch(1, "k", render))
    second = asyncio.create_task(cache.fetch(1, "k", render))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == b"png"
    assert cache.get(1, "k") == b"png"
