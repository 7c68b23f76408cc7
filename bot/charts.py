"""PNG charts of a ranking and of a unit's history, for officials on phones.

Why it is built this way:

* Matplotlib's object-oriented API (``Figure`` + ``FigureCanvasAgg``), never
  pyplot: no global figure registry, no GUI backend, nothing to close. The
  bot calls these synchronous functions through ``asyncio.to_thread``.
  Matplotlib is not thread-safe (rcParams, font cache, text layout cache), so
  renders are serialised by a lock; one takes about 0.1 s.
* Every word is a parameter (titles, level names, "not published", "rank N"):
  the bot passes translated strings, as everywhere else. Numbers go through
  the caller's formatter, so a chart shows "651,93" and "1.000" like the
  replies do. Scores stay Decimal up to the matplotlib call.
* Vietnamese needs precomposed letters with two marks ("ộ", "ữ"). DejaVu Sans,
  which ships inside matplotlib, has them all, so the charts name it rather
  than trusting whatever "sans-serif" resolves to on the server. The tests
  check the glyphs and turn matplotlib's "Glyph … missing" warning into an
  error.
* Size: 8 inches at 100 dpi (800 px) wide, 0.45 inch per row, 11 pt text,
  which a phone shows at full width without zooming. Best rank at the top,
  like the text replies. Telegram refuses photos whose width + height exceed
  10,000 px, so a chart holds at most MAX_ROWS rows.
* Colours (Okabe–Ito, distinguishable with the common colour-vision
  deficiencies): Dẫn dắt bluish green, Nâng cao blue, Hình thành orange,
  Khởi động vermillion; grey where there is no level (no bands, unknown code).
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox
from matplotlib.typing import RcKeyType

from bot.chart_cache import MAX_ROWS, ChartCache, ViewRow

__all__ = [
    "LEVEL_COLORS",
    "MAX_ROWS",
    "NO_LEVEL_COLOR",
    "ChartCache",
    "DrawnRow",
    "RankingChart",
    "draw_ranking_chart",
    "history_chart",
    "ranking_chart",
]

Formatter = Callable[[Decimal], str]

LEVEL_COLORS: Final[Mapping[str, str]] = {
    "dan_dat": "#009e73",
    "nang_cao": "#0072b2",
    "hinh_thanh": "#e69f00",
    "khoi_dong": "#d55e00",
}
NO_LEVEL_COLOR: Final = "#9e9e9e"
FONT_FAMILY: Final = "DejaVu Sans"
FONT_SIZE: Final = 11
DPI: Final = 100
WIDTH_IN: Final = 8.0
ROW_IN: Final = 0.45
EXTRA_IN: Final = 1.9  # title, threshold labels, x axis and legend
NAME_WIDTH: Final = 30  # characters per label line; two lines at most
_BAR_HEIGHT: Final = 0.68
_TEXT_DARK: Final = "#1a1a1a"
_TEXT_MUTED: Final = "#616161"
_LINE_COLOR: Final = "#424242"

_RC: Final[dict[RcKeyType, Any]] = {
    # uploaded names are text, never TeX: "$5$" must not turn into maths
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 2,
    "axes.titleweight": "bold",
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "axes.edgecolor": "#9e9e9e",
    "xtick.color": _TEXT_MUTED,
    "ytick.color": _TEXT_DARK,
}
_RENDER_LOCK = threading.Lock()

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PNG pixels, y downwards


@dataclass(frozen=True)
class DrawnRow:
    """One row as drawn: what the tests (and a curious reader) can check
    against the pixels. Boxes are in PNG pixel coordinates (origin top-left)."""

    first_rank: int
    last_rank: int  # > first_rank for a merged run of unpublished ranks
    label: str  # the row label as drawn (may hold a line break)
    score: Decimal | None
    color: str | None  # bar colour as #rrggbb; None when the row has no bar
    bar: Box | None
    label_box: Box
    value_text: str  # the score as printed at the bar's end, or the unpublished label
    value_box: Box


@dataclass(frozen=True)
class RankingChart:
    png: bytes
    width: int
    height: int
    rows: tuple[DrawnRow, ...]
    threshold_x: tuple[float, ...]  # pixel x of each threshold line
    plot_box: Box  # the axes (x = 0 at its left edge, x = max at its right edge)


@dataclass(frozen=True)
class _Row:
    first: int
    last: int
    name: str
    score: Decimal | None
    level: str | None


def _merge_unpublished(view_rows: Sequence[ViewRow]) -> list[_Row]:
    """A row with no name and no score is a rank the source did not publish;
    a run of them becomes one row "4–8" so a partial list stays compact."""
    rows: list[_Row] = []
    for rank, name, score, level in view_rows:
        blank = score is None and not name.strip()
        previous = rows[-1] if rows else None
        if (
            blank
            and previous is not None
            and previous.score is None
            and not previous.name
            and rank == previous.last + 1
        ):
            rows[-1] = _Row(previous.first, rank, "", None, None)
        else:
            rows.append(_Row(rank, rank, "" if blank else name.strip(), score, level))
    return rows


def _label(row: _Row) -> str:
    if not row.name:
        return f"{row.first}–{row.last}" if row.last > row.first else str(row.first)
    lines = textwrap.wrap(row.name, NAME_WIDTH) or [row.name]
    if len(lines) > 2:
        rest = " ".join(lines[1:])
        lines = [lines[0], rest[: NAME_WIDTH - 1].rstrip() + "…"]
    return f"{row.first}. " + "\n".join(lines)


def _to_decimal(x: float) -> Decimal:
    """A tick position back to a Decimal for the caller's formatter (200.0 → 200;
    12 significant digits hide float noise such as 0.30000000000000004)."""
    value = Decimal(format(float(x), ".12g"))
    return value.to_integral_value() if value == value.to_integral_value() else value


def _text_patch(color: str) -> dict[str, Any]:
    return {"facecolor": color, "edgecolor": "none", "pad": 1.5}


def _set_title(figure: Figure, text: str) -> None:
    """The caller's title across the whole width, left-aligned, each line
    wrapped by its measured width (a character count misjudges "Đ" and "i")."""
    prop = FontProperties(family=FONT_FAMILY, size=FONT_SIZE + 2, weight="bold")
    room = WIDTH_IN * 72 * 0.95  # points, less the margins
    lines = [
        wrapped
        for line in text.splitlines() or [""]
        for wrapped in _wrap_measured(line, prop, room)
    ]
    figure.suptitle("\n".join(lines), x=0.012, ha="left", fontproperties=prop)


def _wrap_measured(line: str, prop: FontProperties, room: float) -> list[str]:
    """Greedy word wrap of one line to `room` points in font `prop`."""
    measure = TextToPath()

    def width(text: str) -> float:
        return measure.get_text_width_height_descent(text, prop, ismath=False)[0]

    lines: list[str] = []
    current = ""
    for word in line.split():
        candidate = f"{current} {word}" if current else word
        if current and width(candidate) > room:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def _text_color_on(color: str) -> str:
    r, g, b = to_rgb(color)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return _TEXT_DARK if luminance > 0.5 else "white"


def _new_figure(height_in: float) -> tuple[Figure, FigureCanvasAgg]:
    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    figure.patch.set_facecolor("white")
    return figure, FigureCanvasAgg(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def _box(bbox: Bbox, height: float) -> Box:
    return (float(bbox.x0), height - float(bbox.y1), float(bbox.x1), height - float(bbox.y0))


def ranking_chart(
    view_rows: Sequence[ViewRow],
    *,
    max_score: Decimal,
    title: str,
    thresholds: Sequence[tuple[Decimal, str]],
    legend: Mapping[str, str],
    unpublished_label: str,
    fmt: Formatter,
    level_colors: Mapping[str, str] = LEVEL_COLORS,
) -> bytes:
    """A horizontal bar chart of one group's ranking as PNG bytes.

    ``view_rows`` are (rank, name, score, level code) in ranking order, best
    first. A row without a score is drawn without a bar, its name (if any)
    as label and ``unpublished_label`` where the bar would be; rows without
    name and score are ranks the source did not publish, and consecutive ones
    are merged into one row "first–last". ``thresholds`` are (share of the
    max in (0, 1), label), drawn as dashed lines at share × max; shares at 0
    or at the max are skipped, they would sit on an axis. ``legend`` maps a
    level code to its (translated) name; only levels present are listed.
    """
    return draw_ranking_chart(
        view_rows,
        max_score=max_score,
        title=title,
        thresholds=thresholds,
        legend=legend,
        unpublished_label=unpublished_label,
        fmt=fmt,
        level_colors=level_colors,
    ).png


def draw_ranking_chart(
    view_rows: Sequence[ViewRow],
    *,
    max_score: Decimal,
    title: str,
    thresholds: Sequence[tuple[Decimal, str]],
    legend: Mapping[str, str],
    unpublished_label: str,
    fmt: Formatter,
    level_colors: Mapping[str, str] = LEVEL_COLORS,
) -> RankingChart:
    """`ranking_chart`, also returning where each row was drawn (for tests)."""
    if max_score <= 0:
        raise ValueError("max_score must be positive")
    rows = _merge_unpublished(view_rows)
    if not rows:
        raise ValueError("no rows to draw")
    if len(rows) > MAX_ROWS:
        raise ValueError(f"{len(rows)} rows: a chart holds at most {MAX_ROWS}")
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        figure, canvas = _new_figure(ROW_IN * len(rows) + EXTRA_IN)
        ax = figure.add_subplot()
        top = float(max_score)
        positions = list(range(len(rows)))
        colors = [
            to_hex(level_colors.get(r.level or "", NO_LEVEL_COLOR))
            if r.score is not None
            else None
            for r in rows
        ]
        widths = [float(r.score) if r.score is not None else 0.0 for r in rows]
        bars = ax.barh(
            positions,
            widths,
            height=_BAR_HEIGHT,
            color=[c or "none" for c in colors],
            zorder=2,
        )
        labels = [_label(r) for r in rows]
        ax.set_yticks(positions, labels)
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            if row.score is None and not row.name:
                tick.set_color(_TEXT_MUTED)
        ax.set_ylim(len(rows) - 0.5, -0.5)  # best rank at the top
        ax.set_xlim(0, top)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt(_to_decimal(x))))
        ax.tick_params(axis="y", length=0, pad=6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        pad = top * 0.01
        values: list[str] = []
        value_texts: list[Text] = []
        for y, row, color in zip(positions, rows, colors, strict=True):
            # Texts sit on a patch of their background colour, above the
            # threshold lines, so a dashed line never strikes through a digit.
            if row.score is None or color is None:
                text = unpublished_label
                artist = ax.text(
                    pad,
                    y,
                    text,
                    va="center",
                    ha="left",
                    color=_TEXT_MUTED,
                    style="italic",
                    zorder=4,
                    bbox=_text_patch("white"),
                )
            else:
                text = fmt(row.score)
                end = float(row.score)
                inside = end > top * 0.86
                artist = ax.text(
                    end - pad if inside else end + pad,
                    y,
                    text,
                    va="center",
                    ha="right" if inside else "left",
                    color=_text_color_on(color) if inside else _TEXT_DARK,
                    fontweight="bold",
                    zorder=4,
                    bbox=_text_patch(color if inside else "white"),
                )
            values.append(text)
            value_texts.append(artist)
        lines = [(float(share) * top, label) for share, label in thresholds if 0 < share < 1]
        for x, _ in lines:
            ax.axvline(x, color=_LINE_COLOR, linestyle=(0, (4, 3)), linewidth=1.1, zorder=3)
        if lines:
            secondary = ax.secondary_xaxis("top")
            secondary.xaxis.set_major_locator(FixedLocator([x for x, _ in lines]))
            secondary.xaxis.set_major_formatter(
                FuncFormatter(lambda _x, pos: lines[pos][1] if pos is not None else "")
            )
            secondary.tick_params(length=0, colors=_TEXT_MUTED)
            secondary.spines["top"].set_visible(False)
        _set_title(figure, title)
        present = {r.level for r in rows if r.score is not None}
        handles = [
            Patch(facecolor=to_hex(level_colors.get(code, NO_LEVEL_COLOR)), label=name)
            for code, name in legend.items()
            if code in present
        ]
        if handles:
            figure.legend(
                handles=handles,
                loc="outside lower center",
                ncols=min(len(handles), 4),
                frameon=False,
                handlelength=1.2,
                columnspacing=1.4,
            )
        png = _png(figure)
        width, height = canvas.get_width_height()
        drawn = []
        for row, label, color, bar, tick, value, value_artist in zip(
            rows,
            labels,
            colors,
            bars.patches,
            ax.get_yticklabels(),
            values,
            value_texts,
            strict=True,
        ):
            drawn.append(
                DrawnRow(
                    first_rank=row.first,
                    last_rank=row.last,
                    label=label,
                    score=row.score,
                    color=color,
                    bar=_box(bar.get_window_extent(), height) if color else None,
                    label_box=_box(tick.get_window_extent(), height),
                    value_text=value,
                    value_box=_box(value_artist.get_window_extent(), height),
                )
            )
        return RankingChart(
            png=png,
            width=width,
            height=height,
            rows=tuple(drawn),
            threshold_x=tuple(float(ax.transData.transform((x, 0))[0]) for x, _ in lines),
            plot_box=_box(ax.get_window_extent(), height),
        )


def history_chart(
    points: Sequence[tuple[int, Decimal | None, int]],
    *,
    title: str,
    fmt: Formatter,
    rank_text: Callable[[int], str],
    max_score: Decimal | None = None,
) -> bytes:
    """A unit's score by year as PNG bytes: a line with markers, each point
    labelled with its score and ``rank_text(rank)`` ("hạng 3").

    ``points`` are (year, score, rank). A year whose score was not published
    has no point (the line breaks there) and shows only its rank, at the foot
    of the chart. ``max_score`` fixes the top of the y axis (the group's
    max); without it the axis leaves room above the best score.
    """
    if not points:
        raise ValueError("no points to draw")
    ordered = sorted(points, key=lambda p: p[0])
    years = [year for year, _, _ in ordered]
    scores = [score for _, score, _ in ordered]
    known = [s for s in scores if s is not None]
    if max_score is not None and max_score > 0:
        top = float(max_score)
    elif known:
        top = float(max(known)) * 1.25 or 1.0
    else:
        top = 1.0
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        figure, _ = _new_figure(4.5)
        ax = figure.add_subplot()
        ys = [float(s) if s is not None else float("nan") for s in scores]
        ax.plot(years, ys, color=LEVEL_COLORS["nang_cao"], marker="o", markersize=8, lw=2.2)
        for (year, score, rank), y in zip(ordered, ys, strict=True):
            if score is None:
                ax.annotate(
                    rank_text(rank),
                    (year, 0),
                    xytext=(0, 8),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    color=_TEXT_MUTED,
                    style="italic",
                )
            else:
                ax.annotate(
                    f"{fmt(score)}\n{rank_text(rank)}",
                    (year, y),
                    xytext=(0, 9),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    color=_TEXT_DARK,
                    linespacing=1.25,
                )
        ax.set_xticks(years, [str(y) for y in years])
        ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
        ax.set_ylim(0, top * 1.18)  # room for the two-line labels above the top point
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: fmt(_to_decimal(y))))
        ax.grid(axis="y", color="#e0e0e0", zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        _set_title(figure, title)
        return _png(figure)
