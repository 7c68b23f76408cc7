"""What a subscriber is told when results are published, for any channel.

Queuing needs no messenger: the CLI import queues here too, and the running
bot's outbox worker sends what is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import render
from bot.i18n import Translator
from bot.reply import esc
from bot.splitting import split_marked
from ranking.catalog import Catalog
from ranking.queries import Rankings
from ranking.store import Retraction
from ranking.store.outbox import Groups, Texts
from ranking.text import fold

log = logging.getLogger("rankbot.announce")

# One message in every channel we send to (Telegram: 4096 UTF-16 units, 100 entities).
MESSAGE_UNITS = 4000
MESSAGE_ENTITIES = 90


async def queue_version(rankings: Rankings, version_id: int, created_by: int | None) -> int | None:
    """Give `version_id`'s announcement its texts and queue it, for every subscriber
    who follows one of its groups, each in their language and groups; None when it
    published nothing. A version published since migration 8 has its announcement
    and deliveries already (written with it, ranking/publishing.py); an older one
    gets them here. Calling it twice for a version queues nothing more. Needs no
    Telegram: the CLI import queues here too, and the running bot's worker sends it."""
    store = rankings.store
    published = await store.scores.version_groups(version_id)
    if not published:
        return None
    match = {group for _, _, group, _ in published}
    found = await store.outbox.version_announcement(version_id)
    if found is not None:
        announcement_id, state = found
        if state == "preparing":
            audience = await store.outbox.audience(announcement_id)
            texts = await version_texts(rankings, published, match, audience, version_id)
            fallback = await version_text(rankings, published, match, Translator("vi"), version_id)
            if await store.outbox.ready(announcement_id, fallback, texts):
                log.info("announcement %s queued for version %s", announcement_id, version_id)
        return announcement_id
    audience = {(groups, lang) for _, _, groups, lang in await store.outbox.subscriptions()}
    texts = await version_texts(rankings, published, match, audience, version_id)
    fallback = await version_text(rankings, published, match, Translator("vi"), version_id)
    announcement_id, created = await store.outbox.create_announcement(
        "version",
        created_by=created_by,
        text_html=fallback,
        version_id=version_id,
        texts=texts,
        match_groups=match,
    )
    if created:
        log.info("announcement %s queued for version %s", announcement_id, version_id)
    return announcement_id


async def version_texts(
    rankings: Rankings,
    published: list[tuple[str, int, str, str]],
    match: set[str],
    audience: set[tuple[Groups, str]],
    version_id: int,
) -> Texts:
    """One text per (followed groups, language) of the audience."""
    texts: Texts = {}
    for groups, lang in audience:
        followed = match if groups is None else match & set(groups)
        if followed:
            texts[(groups, lang)] = await version_text(
                rankings, published, followed, Translator(lang), version_id
            )
    return texts


def correction_text(t: Translator, version_id: int | None) -> str:
    return t("announce.correction", version=version_id if version_id is not None else "?")


async def finish_announcements(rankings: Rankings) -> list[int]:
    """At start: every announcement written but not given its texts (the process
    died between a version's commit and its rendering, or a migration wrote it) is
    rendered and queued now. Returns their ids."""
    store = rankings.store
    done = []
    for announcement_id, kind, version_id, corrects in await store.outbox.preparing():
        if kind == "version" and version_id is not None:
            await queue_version(rankings, version_id, None)
        elif kind == "correction":
            await ready_correction(rankings, announcement_id, corrects)
        done.append(announcement_id)
    if done:
        log.warning("announcements %s were not yet queued at the last stop: queued now", done)
    return done


async def ready_correction(rankings: Rankings, announcement_id: int, corrects: int | None) -> bool:
    """The one short correction to the chats a retracted announcement reached, each in
    its language."""
    store = rankings.store
    retracted = await store.outbox.announcement_version(corrects) if corrects else None
    texts = {
        (groups, lang): correction_text(Translator(lang), retracted)
        for groups, lang in await store.outbox.audience(announcement_id)
    }
    return await store.outbox.ready(
        announcement_id, correction_text(Translator("vi"), retracted), texts
    )


async def ready_retractions(rankings: Rankings, retracted: Sequence[Retraction]) -> None:
    """After the commit that retracted them: their corrections, queued."""
    for r in retracted:
        if r.correction is not None:
            await ready_correction(rankings, r.correction, r.announcement_id)


def retraction_lines(retracted: Sequence[Retraction], t: Translator) -> list[str]:
    """What the admins are told of announcements a publish or an undo withdrew."""
    return [
        t("announce.retracted", version=r.version_id, cancelled=r.cancelled, reached=r.reached)
        for r in retracted
        if r.cancelled or r.reached
    ]


async def version_text(
    rankings: Rankings,
    published: list[tuple[str, int, str, str]],
    followed: set[str],
    t: Translator,
    version_id: int,
) -> str:
    """Per ranking and year: the top 3 of each followed group with levels, how many
    units reached each level, and the source."""
    parts: list[str] = []
    for ranking, year in dict.fromkeys((r, y) for r, y, _, _ in published):
        codes = {g for r, y, g, _ in published if (r, y) == (ranking, year) and g in followed}
        if not codes:
            continue
        lines = [
            t(
                "announce.version_title",
                ranking=render.ranking_title(rankings.catalog.rankings[ranking], year, t),
                year=year,
            )
        ]
        summaries = {s.group.code: s for s in await rankings.level_summaries(ranking, year)}
        for view in await rankings.ranking_views(ranking, year, None, "top", 3):
            if view.group.code not in codes:
                continue
            lines.append("")
            lines.append(render.group_view(view, t, with_title=False))
            summary = summaries.get(view.group.code)
            if summary is not None and summary.levels:
                counts = " · ".join(
                    t("levels.count", name=esc(lv.name(t.lang)), count=summary.counts[lv.code])
                    for lv in summary.levels
                )
                lines.append(t("announce.levels", counts=counts))
        sources = sorted(
            {s for r, y, g, s in published if (r, y) == (ranking, year) and g in codes}
        )
        lines.append("")
        if summaries and any(s.levels for s in summaries.values()):
            lines.append(t("common.share_derived"))  # the rows' shares, from their scores
        lines.append(
            t("announce.version_source", source=esc("; ".join(sources)), version=version_id)
        )
        received = [s.slice.loaded_at for code, s in summaries.items() if code in codes]
        if received:
            lines.append(render.dates_line(sources, max(received), t))
        parts.append("\n".join(lines))
    parts.append(t("announce.version_more"))
    return split_marked(
        "\n\n".join(parts), max_units=MESSAGE_UNITS, max_entities=MESSAGE_ENTITIES
    )[0]


ECHO_WORDS = 10  # unknown words said back, at most
ECHO_WORD_CHARS = 40


def echo_unknown(words: list[str]) -> str:
    """The unknown words of a /dangky, escaped, as the reply names them: the first
    few only, so 800 pasted words cannot crowd out the list of groups that work."""
    shown = [w if len(w) <= ECHO_WORD_CHARS else w[:ECHO_WORD_CHARS] + "…" for w in words]
    text = " ".join(shown[:ECHO_WORDS])
    if len(words) > ECHO_WORDS:
        text += f" … (+{len(words) - ECHO_WORDS})"
    return esc(text)


def parse_groups(words: list[str], catalog: Catalog) -> tuple[list[str], list[str]]:
    """Group codes named in `words` (aliases may be several words) and the words
    that name none; "tất cả"/"all" means every group."""
    table = sorted(
        ((tuple(alias.split()), code) for alias, code in catalog.group_aliases().items()),
        key=lambda pair: -len(pair[0]),
    )
    folded = fold(" ".join(words)).split()
    codes: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(folded):
        if folded[i : i + 2] == ["tat", "ca"] or folded[i] == "all":
            i += 2 if folded[i] == "tat" else 1
            continue
        hit = next(
            (
                (alias, code)
                for alias, code in table
                if alias and tuple(folded[i : i + len(alias)]) == alias
            ),
            None,
        )
        if hit is None:
            unknown.append(folded[i])
            i += 1
        else:
            if hit[1] not in codes:
                codes.append(hit[1])
            i += len(hit[0])
    return codes, unknown


def groups_label(
    codes: tuple[str, ...] | list[str] | None, catalog: Catalog, t: Translator
) -> str:
    if not codes:
        return t("announce.all_groups")
    return ", ".join(esc(catalog.groups[c].short(t.lang)) for c in codes if c in catalog.groups)
