"""Pictures and files: /bieudo (chart), /xuat (export) and a unit's history chart.

Why it is built this way:

* The arguments are parsed by bot/parsing.py and resolved (ranking, year,
  group; what to say when there is no such data) by `Answers.media_target`,
  so a wrong /bieudo gets the same short "what would work" message as a wrong
  /top, and the console (`python -m bot ask "/bieudo 1999"`) gives it too.
* Charts are rendered by bot/charts.py in a worker thread and kept in one
  `ChartCache` in `application.bot_data`, keyed by what the picture depends on
  (language, ranking, year, group; or the unit) and by the score-data
  generation (`Rankings.generation`): it moves with every import or undo, from
  any process, and with no other write, so a language choice or an audit line
  never throws away good charts.
* Exports are `ranking.export` in exactly the upload format, built in a
  worker thread: XLSX by default, CSV on request; a re-upload of the file is a
  preview without changes.
* Handlers run in group -1 and stop further handling, so bot/app.py's generic
  handlers (group 0) never answer the same update again, whatever order the
  handlers were added in. A failure is logged and answered with the usual
  short apology here, for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType, MessageLimit
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot import ops
from bot.answers import Answers, MediaTarget
from bot.chart_cache import MAX_ROWS, ChartCache, ViewRow
from bot.i18n import Translator
from bot.parsing import (
    ChartQuery,
    ExportQuery,
    HistoryChart,
    Invalid,
    Parsed,
    chart_callback,
    parse_media_callback,
)
from bot.render import Button, Reply, esc, to_plain
from ranking.export import export_rows, to_csv, to_xlsx
from ranking.queries import Entry, Rankings, UnitCard
from ranking.ranks import gaps
from ranking.store import SliceInfo

log = logging.getLogger("rankbot.media")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

HANDLER_GROUP = -1  # before bot/app.py's handlers (group 0)
CACHE_KEY = "chart_cache"
SOURCE_CHARS = 300  # of an uploaded source text quoted in a caption
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024, counted like Telegram (UTF-16)


def register(application: AnyApplication) -> None:
    """Add /bieudo (/chart), /xuat (/export) and the chart buttons ("h:", "c:").
    Idempotent: a second call adds nothing."""
    if application.bot_data.get("media_registered"):
        return
    application.bot_data["media_registered"] = True
    application.bot_data.setdefault(CACHE_KEY, ChartCache())
    new_messages = filters.UpdateType.MESSAGE  # an edited message is not a new question
    for names, callback in (
        (["bieudo", "chart"], chart_command),
        (["xuat", "export"], export_command),
    ):
        application.add_handler(
            CommandHandler(names, handled(callback), filters=new_messages), group=HANDLER_GROUP
        )
    application.add_handler(
        CallbackQueryHandler(handled(on_chart_button), pattern=r"^[hc]:"), group=HANDLER_GROUP
    )


def handled(handler: Handler) -> Handler:
    """Run `handler`; on failure log it and apologise briefly (never a traceback);
    either way keep the generic handlers of group 0 from answering again."""

    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            # a picture or a file costs more than a text reply: the same per-user limit
            t = Translator(await _language(update, context))
            if await ops.let_through(update, context, t):
                await handler(update, context)
        except Exception as exc:  # the user gets the apology, the log the details
            log.error("%s failed: %s", handler.__name__, exc, exc_info=exc)
            t = Translator(await _language(update, context, fallback=True))
            await _apologise(update, t)
        raise ApplicationHandlerStop

    wrapper.__name__ = handler.__name__
    return wrapper


async def _apologise(update: Update, t: Translator) -> None:
    """The short "something went wrong": as the button's answer, or, when the
    button was already answered (the failure came after), in the chat."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(t("error.internal"))
            return
        except TelegramError:
            pass
    if update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(t("error.internal"))


async def _language(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, fallback: bool = False
) -> str:
    from bot.app import language_of  # the one place that decides a user's language

    if fallback:
        with contextlib.suppress(Exception):
            return await language_of(update, context)
        return "vi"
    return await language_of(update, context)


def answers_of(context: ContextTypes.DEFAULT_TYPE) -> Answers:
    return cast(Answers, context.bot_data["answers"])


def cache_of(context: ContextTypes.DEFAULT_TYPE) -> ChartCache:
    cache = context.bot_data.get(CACHE_KEY)
    if not isinstance(cache, ChartCache):
        cache = context.bot_data[CACHE_KEY] = ChartCache()
    return cache


async def data_version(rankings: Rankings) -> int:
    """A number that changes whenever the scores on record change (import, undo)."""
    return await rankings.generation()


# ---- the ranking chart ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """Everything `charts.ranking_chart` draws from, in the user's language."""

    rows: list[ViewRow]
    max_score: Decimal
    title: str
    thresholds: list[tuple[Decimal, str]]
    legend: dict[str, str]
    unpublished_label: str
    fmt: Callable[[Decimal], str]

    def kwargs(self) -> dict[str, Any]:
        return {
            "max_score": self.max_score,
            "title": self.title,
            "thresholds": self.thresholds,
            "legend": self.legend,
            "unpublished_label": self.unpublished_label,
            "fmt": self.fmt,
        }

    def render(self) -> bytes:
        from bot import charts  # matplotlib on the first chart, in the render thread

        return charts.ranking_chart(self.rows, **self.kwargs())


@dataclass(frozen=True)
class ChartData:
    spec: ChartSpec
    entries: list[Entry]
    shown_to: int  # the last rank drawn (< unit count when the group is cut at MAX_ROWS)


async def ranking_chart_data(rankings: Rankings, slice_: SliceInfo, t: Translator) -> ChartData:
    """One group's whole ranking as chart rows: every published row, and a blank
    row for each position the source did not publish (the chart merges runs)."""
    catalog = rankings.catalog
    entries = [
        rankings.entry(r, slice_) for r in await rankings.store.scores.slice_records(slice_)
    ]
    rows: list[ViewRow] = [
        (e.record.rank, e.record.name, e.record.score, e.level.code if e.level else None)
        for e in entries
    ]
    ranks = [e.record.rank for e in entries]
    for first, last in gaps(ranks, 1, max([slice_.unit_count, *ranks])):
        rows += [(rank, "", None, None) for rank in range(first, last + 1)]
    rows.sort(key=lambda row: (row[0], row[1] == ""))
    rows = rows[:MAX_ROWS]  # merged runs only make it shorter
    levels = catalog.levels(slice_.ranking)
    ranking, group = catalog.rankings[slice_.ranking], catalog.groups[slice_.group_code]
    spec = ChartSpec(
        rows=rows,
        max_score=slice_.max_score,
        title=t(
            "media.chart_title",
            ranking=ranking.name(t.lang),
            year=slice_.year,
            group=group.name(t.lang),
        ),
        thresholds=[(lv.above, t.percent(lv.above * 100)) for lv in levels if lv.above > 0],
        legend={lv.code: lv.name(t.lang) for lv in levels},
        unpublished_label=t("media.unpublished"),
        fmt=t.number,
    )
    return ChartData(spec, entries, rows[-1][0] if rows else 0)


def _sources(sources: set[str]) -> str:
    text = "; ".join(sorted(sources))
    return text if len(text) <= SOURCE_CHARS else text[: SOURCE_CHARS - 1].rstrip() + "…"


def fit_caption(markup: str) -> str:
    """Within Telegram's 1024 characters; our captions stay far below, but the
    names and sources come from uploaded files."""
    plain = to_plain(markup)
    if len(plain.encode("utf-16-le")) // 2 <= CAPTION_LIMIT:
        return markup
    cut = plain.encode("utf-16-le")[: (CAPTION_LIMIT - 1) * 2].decode("utf-16-le", "ignore")
    return html.escape(cut, quote=False) + "…"


def chart_caption(data: ChartData, slice_: SliceInfo, rankings: Rankings, t: Translator) -> str:
    ranking = rankings.catalog.rankings[slice_.ranking]
    group = rankings.catalog.groups[slice_.group_code]
    lines = [
        t(
            "media.chart_caption",
            ranking=esc(ranking.name(t.lang)),
            year=slice_.year,
            group=esc(group.name(t.lang)),
        )
    ]
    if data.shown_to < slice_.unit_count:
        lines.append(t("media.chart_cut", shown=data.shown_to, count=slice_.unit_count))
    if ranking.band_scheme is None:
        lines.append(t("top.note_no_bands"))
    differs = [e.record.name for e in data.entries if e.level_differs]
    if differs:
        lines.append(t("media.chart_level_differs", names=esc(", ".join(differs[:5]))))
    sources = {e.record.source for e in data.entries} or {slice_.source}
    lines.append(t("common.source", source=esc(_sources(sources)), loaded=slice_.loaded_at[:10]))
    return fit_caption("\n".join(lines))


def chart_buttons(target: MediaTarget, t: Translator, rankings: Rankings) -> list[list[Button]]:
    """The year's other groups, one chart each."""
    row = [
        Button(
            t("button.chart_group", group=rankings.catalog.groups[s.group_code].short(t.lang)),
            chart_callback(s.ranking, s.group_code, s.year),
        )
        for s in target.year_slices
        if s.group_code != target.group
    ]
    return [row] if row else []


async def send_chart(
    message: Message, query: ChartQuery, t: Translator, context: ContextTypes.DEFAULT_TYPE
) -> None:
    from bot.app import keyboard, send_reply, with_network_retry

    answers = answers_of(context)
    target = await answers.media_target(query, t)
    if isinstance(target, Reply):
        await send_reply(message, target)
        return
    rankings = answers.rankings
    slice_ = target.slices[0]
    data = await ranking_chart_data(rankings, slice_, t)
    cache = cache_of(context)
    version = await data_version(rankings)
    key = ("ranking", t.lang, slice_.ranking, slice_.year, slice_.group_code)
    if cache.get(version, key) is None:
        await _chat_action(message, ChatAction.UPLOAD_PHOTO)
    png = await cache.fetch(version, key, data.spec.render)
    caption = chart_caption(data, slice_, rankings, t)
    markup = keyboard(chart_buttons(target, t, rankings))
    await with_network_retry(
        lambda: message.reply_photo(
            photo=png,
            filename=f"bieu-do-{slice_.ranking}-{slice_.year}-{slice_.group_code}.png",
            caption=caption,
            reply_markup=markup,
            do_quote=message.chat.type != ChatType.PRIVATE,
        )
    )


async def _chat_action(message: Message, action: str) -> None:
    """ "sending a photo…" while it renders; nothing is lost when it fails."""
    with contextlib.suppress(TelegramError):
        await message.get_bot().send_chat_action(message.chat.id, action)


async def parse_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Message, Translator, Answers, Parsed] | None:
    """The command's message, the user's translator and what the words ask for;
    None once a wrong command has been answered with what would work."""
    from bot.app import send_reply

    message = update.effective_message
    if message is None or not message.text:
        return None
    t = Translator(await _language(update, context))
    answers = answers_of(context)
    parsed = answers.parser.parse(message.text)
    if isinstance(parsed, Invalid):
        await send_reply(message, await answers.user_errors(parsed, t))
        return None
    if parsed is None:
        return None
    return message, t, answers, parsed


async def chart_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/bieudo [nhóm] [năm] (/chart), in private chats and groups (/bieudo@bot)."""
    command = await parse_command(update, context)
    if command is None:
        return
    message, t, _, parsed = command
    if isinstance(parsed, ChartQuery):
        await send_chart(message, parsed, t, context)


# ---- a unit's history -----------------------------------------------------------------------


def history_points(card: UnitCard) -> list[tuple[int, Decimal | None, int]]:
    """(year, score, rank), one per year (the first group when a year has two)."""
    points: dict[int, tuple[int, Decimal | None, int]] = {}
    for y in card.years:
        points.setdefault(y.slice.year, (y.slice.year, y.entry.record.score, y.entry.record.rank))
    return list(points.values())


def has_history(card: UnitCard | None) -> bool:
    return card is not None and any(y.entry.record.score is not None for y in card.years)


async def send_history(
    message: Message, card: UnitCard, t: Translator, context: ContextTypes.DEFAULT_TYPE
) -> None:
    from bot.app import with_network_retry

    rankings = answers_of(context).rankings
    maxes = {y.slice.year: y.slice.max_score for y in card.years}
    same_max = len(set(maxes.values())) == 1
    points = history_points(card)
    title = t("media.history_title", name=card.name)

    def render() -> bytes:
        from bot import charts  # matplotlib on the first chart, in the render thread

        return charts.history_chart(
            points,
            title=title,
            fmt=t.number,
            rank_text=lambda rank: t("media.rank", rank=rank),
            max_score=next(iter(maxes.values())) if same_max else None,
        )

    cache = cache_of(context)
    version = await data_version(rankings)
    key = ("history", t.lang, card.unit_id)
    if cache.get(version, key) is None:
        await _chat_action(message, ChatAction.UPLOAD_PHOTO)
    png = await cache.fetch(version, key, render)
    lines = [t("media.history_caption", name=esc(card.name))]
    if not same_max:
        items = " · ".join(f"{year}: {t.number(m)}" for year, m in sorted(maxes.items()))
        lines.append(t("media.history_max", items=items))
    sources = {y.entry.record.source for y in card.years}
    loaded = max(y.slice.loaded_at for y in card.years)[:10]
    lines.append(t("common.source", source=esc(_sources(sources)), loaded=loaded))
    caption = fit_caption("\n".join(lines))
    await with_network_retry(
        lambda: message.reply_photo(
            photo=png,
            filename=f"lich-su-{card.unit_id}.png",
            caption=caption,
            do_quote=message.chat.type != ChatType.PRIVATE,
        )
    )


async def on_chart_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "h:<unit id>" under a card, "c:<ranking>:<group>:<year>" under a chart."""
    query = update.callback_query
    if query is None:
        return
    t = Translator(await _language(update, context))
    answers = answers_of(context)
    parsed = parse_media_callback(query.data or "", answers.catalog)
    message = query.message if isinstance(query.message, Message) else None
    if parsed is None or message is None:
        await query.answer(t("callback.stale"))
        return
    if isinstance(parsed, HistoryChart):
        card = await answers.rankings.card(parsed.unit_id)
        if card is None or not has_history(card):
            await query.answer(t("callback.stale"))
            return
        await query.answer()
        await send_history(message, card, t, context)
        return
    target = await answers.media_target(parsed, t)
    if isinstance(target, Reply):  # that year or group is no longer on record
        await query.answer(t("callback.stale"))
        return
    await query.answer()
    await send_chart(message, parsed, t, context)


# ---- export ---------------------------------------------------------------------------------


def export_file_name(target: MediaTarget, fmt: str) -> str:
    group = f"-{target.group}" if target.group else ""
    return f"xep-hang-{target.ranking}-{target.year}{group}.{fmt}"


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/xuat [nhóm] [năm] [csv] (/export): the ranking as a file in the upload format."""
    from bot.app import send_reply, with_network_retry

    command = await parse_command(update, context)
    if command is None:
        return
    message, t, answers, parsed = command
    if not isinstance(parsed, ExportQuery):
        return
    target = await answers.media_target(parsed, t)
    if isinstance(target, Reply):
        await send_reply(message, target)
        return
    catalog = answers.catalog
    store = answers.rankings.store
    slices = [(s, await store.scores.slice_records(s)) for s in target.slices]
    header, rows = export_rows(slices, catalog)
    sources = {r.source for _, records in slices for r in records} or {
        s.source for s in target.slices
    }
    notes = [
        t("media.export_note_format"),
        t("media.export_note_source", source=_sources(sources)),
    ]
    await _chat_action(message, ChatAction.UPLOAD_DOCUMENT)
    if parsed.fmt == "csv":
        data = await asyncio.to_thread(to_csv, header, rows)
    else:
        sheet = t("media.export_sheet")
        data = await asyncio.to_thread(
            lambda: to_xlsx(header, rows, sheet_title=sheet, notes=notes)
        )
    ranking = catalog.rankings[target.ranking]
    groups = (
        catalog.groups[target.group].name(t.lang) if target.group else t("media.export_all_groups")
    )
    caption = fit_caption(
        "\n".join(
            [
                t(
                    "media.export_caption",
                    ranking=esc(ranking.name(t.lang)),
                    year=target.year,
                    groups=esc(groups),
                    rows=len(rows),
                ),
                t(
                    "common.source",
                    source=esc(_sources(sources)),
                    loaded=max(s.loaded_at for s in target.slices)[:10],
                ),
            ]
        )
    )
    name = export_file_name(target, parsed.fmt)
    await with_network_retry(
        lambda: message.reply_document(
            document=data,
            filename=name,
            caption=caption,
            do_quote=message.chat.type != ChatType.PRIVATE,
        )
    )
