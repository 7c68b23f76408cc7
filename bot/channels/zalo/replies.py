"""A `Reply` sent to a Zalo chat: its text, its numbered choices, its picture or file.

Pictures: Zalo's sendPhoto takes a URL only and downloads the picture itself
(docs/zalo.md). In webhook mode the bot's own HTTP server is public, so a chart
is put on its shelf (bot/channels/zalo/shelf.py: an unguessable path that expires)
and sent by that URL; an export (XLSX/CSV), which Zalo cannot send at all, is
offered as a link on the same shelf. In polling mode there is no public address:
the reply says so and where to get the chart (the same command on Telegram), and
offers the ranking as text instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.answers import Answers
from bot.channels.zalo import render
from bot.channels.zalo.choices import ChoiceMemory
from bot.channels.zalo.sending import Sender
from bot.channels.zalo.shelf import MEDIA_TTL, Shelf
from bot.chart_cache import ChartCache
from bot.commands import BY_KEY
from bot.i18n import Translator
from bot.media import MediaFile, make_media
from bot.parsing import ChartQuery, ExportQuery, HistoryChart, RankingQuery, ranking_callback
from bot.reply import Choice, MediaRequest, Reply

TEXT_RANKING_ROWS = 20  # a chart offered as text: its first rows, as a unit card's button


@dataclass
class Replier:
    """Sends replies into Zalo chats and remembers the choices each offered."""

    sender: Sender
    answers: Answers
    memory: ChoiceMemory
    charts: ChartCache
    shelf: Shelf | None  # None: polling mode, no public address for pictures

    async def send(self, chat_id: str, reply: Reply, t: Translator) -> None:
        if reply.media is not None:
            await self._media(chat_id, reply.media, t)
            return
        await self.send_text(chat_id, reply.text, reply.actions(), t)

    async def send_text(
        self, chat_id: str, marked: str, choices: list[Choice], t: Translator
    ) -> None:
        """Marked text and its numbered choices, in as many messages as it takes."""
        for text in render.messages(render.with_choices(marked, choices, t)):
            await self.sender.text(chat_id, text)
        self.memory.offer(chat_id, [c.action for c in choices if c.action is not None])

    async def _media(self, chat_id: str, request: MediaRequest, t: Translator) -> None:
        if self.shelf is None:
            reply = await self._without_link(request, t)
            await self.send_text(chat_id, reply.text, reply.actions(), t)
            return

        async def busy(kind: Literal["photo", "document"]) -> None:
            await self.sender.typing(chat_id)

        made = await make_media(request, self.answers, self.charts, t, busy)
        if not isinstance(made, MediaFile):
            await self.send(chat_id, made, t)
            return
        url = self.shelf.put(made.data, made.file_name)
        choices = [c for row in made.choices for c in row if c.action is not None]
        if made.kind == "photo":
            caption = render.caption(render.with_choices(made.caption, choices, t))
            await self.sender.photo(chat_id, url, caption)
            self.memory.offer(chat_id, [c.action for c in choices if c.action is not None])
        else:
            minutes = int(MEDIA_TTL // 60)
            text = made.caption + "\n\n" + t("zalo.download", url=url, minutes=minutes)
            await self.send_text(chat_id, text, choices, t)

    async def _without_link(self, request: MediaRequest, t: Translator) -> Reply:
        """Polling mode: what would have been a picture or a file, and where to get it."""
        query = request.query
        if isinstance(query, HistoryChart):
            return Reply(t("zalo.history_needs_link"))
        target = await self.answers.media_target(query, t)
        if isinstance(target, Reply):
            return target  # no such year or group: what would work
        command = "chart" if isinstance(query, ChartQuery) else "export"
        words = ["/" + BY_KEY[command].name(t.lang)]
        words += [w for w in (target.group, str(target.year)) if w]
        if isinstance(query, ExportQuery) and query.fmt == "csv":
            words.append("csv")
        typed = " ".join(words)
        if command == "export":
            return Reply(t("zalo.export_needs_link", command=typed))
        ranking = RankingQuery(
            n=min(target.slices[0].unit_count, TEXT_RANKING_ROWS),
            group=target.group,
            year=target.year,
            ranking=target.ranking,
        )
        return Reply(
            t("zalo.chart_needs_link", command=typed),
            [[Choice(t("zalo.chart_as_text"), ranking_callback(ranking))]],
        )
