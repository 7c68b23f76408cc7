"""Group announcements: subscriptions, a durable outbox, Telegram's limits.

Why an outbox in SQLite rather than a loop of send_message calls: an import
can be announced to hundreds of groups, which takes minutes at Telegram's
rate limits, and the process may restart in the middle. Every (announcement,
chat) pair is a row whose state is written before and after its send, so a
restart continues where it stopped and a row already sent is never sent
again. A send whose outcome is unknown (a timeout, or a crash while it was in
flight) is marked "uncertain" and not repeated: a missing announcement is
better than a duplicate in an official's group.

The worker is one background task with its own pacing (≤ 25 messages/s
overall, ≤ 1 per 3 s per group, ≤ 1 per s per person), below Telegram's
limits, so the AIORateLimiter configured in bot/app.py stays a safety net
and query replies keep flowing through the same bot meanwhile.

Handlers are registered in group -1 and stop further handling, so they win
over the generic command handler whatever order bot/app.py adds them in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import admin, render
from bot.answers import Answers
from bot.i18n import Translator
from bot.render import esc, to_plain
from ranking.catalog import Catalog
from ranking.queries import Rankings
from ranking.store import ActionTaken, Store
from ranking.text import fold

log = logging.getLogger("rankbot.announce")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

HANDLER_GROUP = -1  # before bot/app.py's handlers (group 0)
ADMIN_CACHE_SECONDS = 60.0  # getChatAdministrators is cached this long per group
DRAFT_TTL = 15 * 60  # seconds a /thongbao preview can be confirmed
MAX_TEXT = 3500  # characters of an admin's announcement (Telegram's cap is 4096)
OVERALL_PER_SECOND = 25.0  # Telegram allows ~30/s; stay under it
GROUP_INTERVAL = 3.0  # Telegram allows 20/min to one group
PRIVATE_INTERVAL = 1.0  # ~1/s to one person
MAX_ATTEMPTS = 3  # network failures before a delivery is given up
STATES = ("sent", "pending", "uncertain", "failed", "unreachable")


def store_of(application: AnyApplication) -> Store:
    return cast(Store, application.bot_data["store"])


def answers_of(application: AnyApplication) -> Answers:
    return cast(Answers, application.bot_data["answers"])


# ---- registration and lifecycle ---------------------------------------------


def stop_after(handler: admin.Handler) -> admin.Handler:
    """Run `handler`, then keep bot/app.py's generic handlers (group 0) from also
    answering the same update ("/dangky" is not a query command to them)."""

    async def stopping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await handler(update, context)
        raise ApplicationHandlerStop

    stopping.__name__ = handler.__name__
    return stopping


def register(application: AnyApplication) -> None:
    """Add the announcement handlers (idempotent: a second call adds nothing)."""
    if application.bot_data.get("announce_registered"):
        return
    application.bot_data["announce_registered"] = True
    new_messages = filters.UpdateType.MESSAGE
    for names, callback in (
        (["dangky", "subscribe"], subscribe_command),
        (["huydangky", "unsubscribe"], unsubscribe_command),
        (["thongbao", "announce"], announce_command),
        (["trangthai", "status"], status_command),
    ):
        application.add_handler(
            CommandHandler(names, stop_after(callback), filters=new_messages),
            group=HANDLER_GROUP,
        )
    application.add_handler(
        ChatMemberHandler(stop_after(on_my_chat_member), ChatMemberHandler.MY_CHAT_MEMBER),
        group=HANDLER_GROUP,
    )
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, stop_after(on_migrate)), group=HANDLER_GROUP
    )
    application.add_handler(
        CallbackQueryHandler(stop_after(on_announce_button), pattern=r"^n:"), group=HANDLER_GROUP
    )


async def start_outbox(
    application: AnyApplication,
    *,
    per_second: float = OVERALL_PER_SECOND,
    group_interval: float = GROUP_INTERVAL,
) -> None:
    """Start the delivery worker (call at the end of post_init, after the store opens).

    A plain asyncio task, not application.create_task: before Application.start
    PTB warns that it will not await such a task, and while running,
    Application.stop would wait forever for a loop that never ends.
    """
    current = application.bot_data.get("outbox")
    if isinstance(current, Outbox) and current.task is not None and not current.task.done():
        return
    store = store_of(application)
    interrupted = await store.outbox.settle_interrupted()
    if interrupted:
        log.warning("%d deliveries were in flight at the last stop: marked uncertain", interrupted)
    outbox = Outbox(application, per_second=per_second, group_interval=group_interval)
    application.bot_data["outbox"] = outbox
    outbox.task = asyncio.create_task(outbox.run(), name="announce-outbox")


async def stop_outbox(application: AnyApplication) -> None:
    """Let the send in flight finish, then stop (before the store is closed)."""
    outbox = application.bot_data.pop("outbox", None)
    if isinstance(outbox, Outbox):
        await outbox.stop()


def wake_outbox(application: AnyApplication) -> None:
    outbox = application.bot_data.get("outbox")
    if isinstance(outbox, Outbox):
        outbox.wake()


# ---- the outbox worker ----------------------------------------------------------


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after is an int or (PTB_TIMEDELTA=1) a timedelta: seconds either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's deprecation notice for the int form
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Outbox:
    """Sends pending deliveries one at a time, paced per chat and overall."""

    def __init__(
        self,
        application: AnyApplication,
        *,
        per_second: float = OVERALL_PER_SECOND,
        group_interval: float = GROUP_INTERVAL,
    ) -> None:
        self.application = application
        self.store = store_of(application)
        self.gap = 1.0 / per_second
        self.group_interval = group_interval
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._next_send = 0.0  # monotonic time of the next send (also RetryAfter pauses)
        self._chat_ready: dict[int, float] = {}

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        self._stop.set()
        self._wake.set()
        if self.task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when stopping."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before reading: a wake-up during the read is kept
            try:
                batch = await self.store.outbox.next_pending(100)
                if not batch:
                    # also re-read now and then: the CLI may queue from another process
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 60)
                    continue
                queue = list(batch)
                while queue and not self._stop.is_set():
                    # the chat that may be sent to soonest goes first: a slow group
                    # does not hold up the others
                    i = min(range(len(queue)), key=lambda k: self._chat_ready.get(queue[k][1], 0))
                    await self.deliver(*queue.pop(i))
            except Exception:  # the worker must outlive any one bad row or database hiccup
                log.exception("announcement outbox failed; retrying in 1 s")
                await self._sleep(1.0)

    async def deliver(self, announcement_id: int, chat_id: int, text: str, attempts: int) -> None:
        """One send, its state written before and after."""
        ready = max(self._next_send, self._chat_ready.get(chat_id, 0.0))
        await self._sleep(ready - time.monotonic())
        if self._stop.is_set():
            return  # still pending: the next start sends it
        store = self.store
        if not await store.outbox.mark_delivery(
            announcement_id, chat_id, "sending", attempt=True, expect="pending"
        ):
            return  # sent, moved or settled meanwhile
        now = time.monotonic()
        self._next_send = max(self._next_send, now) + self.gap
        self._chat_ready[chat_id] = now + (
            self.group_interval if chat_id < 0 else PRIVATE_INTERVAL
        )
        try:
            message = await self.application.bot.send_message(chat_id, text)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            log.warning("flood control: waiting %.1f s before chat %s", wait, chat_id)
            self._next_send = max(self._next_send, time.monotonic() + wait)
            await store.outbox.mark_delivery(announcement_id, chat_id, "pending", error=str(exc))
        except Forbidden as exc:
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "unreachable", error=exc.message
            )
            await store.outbox.unsubscribe(chat_id, by=None, reason="forbidden")
        except ChatMigrated as exc:
            new_id = exc.new_chat_id
            if new_id == chat_id or attempts + 1 >= MAX_ATTEMPTS:
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "failed", error=str(exc)
                )
                return
            # back to pending, then moved with the subscription: the loop resends it
            # once under the new id (attempts travel with it)
            await store.outbox.mark_delivery(announcement_id, chat_id, "pending", error=str(exc))
            await store.outbox.migrate_chat(chat_id, new_id)
        except TimedOut as exc:
            # Telegram may have delivered it: a resend could duplicate it
            await store.outbox.mark_delivery(announcement_id, chat_id, "uncertain", error=str(exc))
        except BadRequest as exc:  # the same request would fail the same way
            gone = "chat not found" in exc.message.lower()
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "unreachable" if gone else "failed", error=exc.message
            )
            if gone:
                await store.outbox.unsubscribe(chat_id, by=None, reason="chat not found")
        except NetworkError as exc:  # never reached Telegram: safe to retry
            if attempts + 1 >= MAX_ATTEMPTS:
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "failed", error=str(exc)
                )
            else:
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "pending", error=str(exc)
                )
                self._chat_ready[chat_id] = time.monotonic() + 0.5 * 2**attempts
        except TelegramError as exc:
            await store.outbox.mark_delivery(announcement_id, chat_id, "failed", error=str(exc))
        except Exception:
            # e.g. the HTTP client already closed at shutdown: nothing went out
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "pending", error="interrupted"
            )
            raise
        else:
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "sent", message_id=message.message_id
            )


# ---- announcing a version --------------------------------------------------------


async def announce_version(
    application: AnyApplication, version_id: int, created_by: int | None
) -> int | None:
    """Queue what `version_id` published (see `queue_version`) and wake the worker."""
    announcement_id = await queue_version(answers_of(application).rankings, version_id, created_by)
    if announcement_id is not None:
        wake_outbox(application)
    return announcement_id


async def queue_version(rankings: Rankings, version_id: int, created_by: int | None) -> int | None:
    """Queue what `version_id` published for every subscriber who follows one of its
    groups, each in their language and groups; None when it published nothing.
    Calling it twice for a version queues nothing more. Needs no Telegram: the
    CLI import queues here too, and the running bot's worker sends it."""
    store = rankings.store
    published = await store.scores.version_groups(version_id)
    if not published:
        return None
    match = {group for _, _, group, _ in published}
    texts: dict[tuple[tuple[str, ...] | None, str], str] = {}
    for _, _, groups, lang in await store.outbox.subscriptions():
        followed = match if groups is None else match & set(groups)
        if followed and (groups, lang) not in texts:
            texts[(groups, lang)] = await version_text(
                rankings, published, followed, Translator(lang), version_id
            )
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


async def version_text(
    rankings: Rankings,
    published: list[tuple[str, int, str, str]],
    followed: set[str],
    t: Translator,
    version_id: int,
) -> str:
    """Per ranking and year: the top 3 of each followed group with levels, how many
    units reached each level, and the source."""
    from bot.app import split_html  # bot.app imports this module

    parts: list[str] = []
    for ranking, year in dict.fromkeys((r, y) for r, y, _, _ in published):
        codes = {g for r, y, g, _ in published if (r, y) == (ranking, year) and g in followed}
        if not codes:
            continue
        lines = [
            t(
                "announce.version_title",
                ranking=esc(rankings.catalog.rankings[ranking].name(t.lang)),
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
        lines.append(
            t("announce.version_source", source=esc("; ".join(sources)), version=version_id)
        )
        parts.append("\n".join(lines))
    parts.append(t("announce.version_more"))
    return split_html("\n\n".join(parts))[0]


# ---- subscriptions ------------------------------------------------------------------


async def group_admin_ids(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> set[int]:
    """The group's administrators, cached a minute (an admin list rarely changes,
    and every /dangky would otherwise cost a request)."""
    cache = cast(
        dict[int, tuple[float, set[int]]], context.bot_data.setdefault("announce_admins", {})
    )
    hit = cache.get(chat_id)
    if hit is not None and time.monotonic() - hit[0] < ADMIN_CACHE_SECONDS:
        return hit[1]
    members = await context.bot.get_chat_administrators(chat_id)
    ids = {m.user.id for m in members}
    cache[chat_id] = (time.monotonic(), ids)
    return ids


async def may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator) -> bool:
    """Anyone for their own private chat; in a group its administrators or a bot admin.
    An anonymous admin (speaking as the group) cannot be told apart from anyone
    allowed to post as the group, so they are asked to use their own account."""
    message = cast(Message, update.effective_message)
    user = update.effective_user
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.sender_chat is not None or user is None:
        await message.reply_text(t("announce.anonymous"))
        return False
    if await admin.is_admin(user.id, context):
        return True
    try:
        if user.id in await group_admin_ids(context, message.chat.id):
            return True
    except TelegramError as exc:
        log.warning("getChatAdministrators failed for %s: %s", message.chat.id, exc)
    await message.reply_text(t("announce.group_admins_only"))
    return False


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


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/dangky [nhóm…]: this group (or this person) gets an announcement per import."""
    message = update.effective_message
    if message is None:
        return
    t = await admin.translator(update, context)
    if await may_manage(update, context, t):
        catalog = admin.answers_of(context).catalog
        codes, unknown = parse_groups(context.args or [], catalog)
        if unknown:
            known = ", ".join(g.code for g in catalog.groups.values())
            await message.reply_html(
                t("announce.unknown_groups", words=esc(" ".join(unknown)), groups=known)
            )
        else:
            private = message.chat.type == ChatType.PRIVATE
            user_id = update.effective_user.id if update.effective_user else None
            await admin.store_of(context).outbox.subscribe(
                message.chat.id, message.chat.type, codes or None, by=user_id
            )
            key = "announce.subscribed_private" if private else "announce.subscribed_group"
            await message.reply_html(t(key, groups=groups_label(codes, catalog, t)))


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/huydangky: no more announcements here."""
    message = update.effective_message
    if message is None:
        return
    t = await admin.translator(update, context)
    if await may_manage(update, context, t):
        user_id = update.effective_user.id if update.effective_user else None
        removed = await admin.store_of(context).outbox.unsubscribe(
            message.chat.id, by=user_id, reason="command"
        )
        await message.reply_text(
            t("announce.unsubscribed") if removed else t("announce.not_subscribed")
        )


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Added to a group: say how to subscribe. Removed, kicked or blocked: stop
    sending there (every send would fail with 403 anyway)."""
    change = update.my_chat_member
    if change is None:
        return
    out = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    old, new = change.old_chat_member.status, change.new_chat_member.status
    chat = change.chat
    if new in out:
        await admin.store_of(context).outbox.unsubscribe(
            chat.id, by=change.from_user.id, reason=new
        )
    elif old in out and chat.type != ChatType.PRIVATE:
        t = Translator("vi")  # a group's language: Vietnamese
        with contextlib.suppress(Forbidden):
            await context.bot.send_message(chat.id, t("announce.greeting"))


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: its subscription follows it to the new id."""
    message = update.effective_message
    if message is None:
        return
    store = admin.store_of(context)
    if message.migrate_to_chat_id:
        await store.outbox.migrate_chat(message.chat.id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await store.outbox.migrate_chat(message.migrate_from_chat_id, message.chat.id)


# ---- admin: free-text announcements and progress ---------------------------------------


@admin.admin_only
async def announce_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/thongbao <nội dung>: preview, then ✅ sends it to every subscriber."""
    message = cast(Message, update.effective_message)
    t = await admin.translator(update, context)
    store = admin.store_of(context)
    parts = (message.text_html or "").split(None, 1)
    body = parts[1].strip() if len(parts) > 1 else ""
    if not body:
        await message.reply_html(t("announce.usage"))
        return
    length = len(to_plain(body))
    if length > MAX_TEXT:
        await message.reply_html(t("announce.too_long", length=length, limit=MAX_TEXT))
        return
    count = len(await store.outbox.subscriptions())
    if count == 0:
        await message.reply_html(t("announce.no_subscribers"))
        return
    html = t("announce.text_header") + "\n\n" + body
    user_id = cast(int, update.effective_user and update.effective_user.id)
    draft_id, _ = await store.outbox.create_announcement(
        "text", created_by=user_id, text_html=html, draft=True
    )
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t("button.confirm"), callback_data=f"n:{draft_id}:ok")],
            [InlineKeyboardButton(t("button.cancel"), callback_data=f"n:{draft_id}:no")],
        ]
    )
    await message.reply_html(
        t("announce.preview", count=count) + "\n\n" + html, reply_markup=buttons
    )


async def on_announce_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """✅ / ❌ under a /thongbao preview: its author only, within 15 minutes, once."""
    query = update.callback_query
    if query is None or not query.data:
        return
    t = await admin.translator(update, context)
    store = admin.store_of(context)
    parts = query.data.split(":")
    found = None
    if len(parts) == 3 and parts[1].isdigit() and parts[2] in ("ok", "no"):
        found = await store.outbox.announcement(int(parts[1]))
    if found is None or found[0] != "text":
        await query.answer(t("callback.stale"))
        return
    draft_id = int(parts[1])
    _, _, author, created_at, state = found
    user_id = query.from_user.id
    if user_id != author or not await admin.is_admin(user_id, context):
        log.warning("user %s pressed another admin's announcement button", user_id)
        await query.answer(t("announce.not_your_button"), show_alert=True)
    elif state != "draft":
        await query.answer(t("admin.already_done"))
    elif datetime.now(UTC) - datetime.fromisoformat(created_at) > timedelta(seconds=DRAFT_TTL):
        await store.outbox.cancel_draft(draft_id)
        await query.answer(t("announce.expired"), show_alert=True)
        await admin.edit_result(query, t("announce.expired"))
    elif parts[2] == "no":
        await store.outbox.cancel_draft(draft_id)
        await query.answer(t("announce.cancelled"))
        await admin.edit_result(query, t("announce.cancelled"))
    else:
        try:
            count = await store.outbox.queue_draft(draft_id)
        except ActionTaken:
            await query.answer(t("admin.already_done"))
            return
        await store.people.audit(user_id, "announce", f"announcement {draft_id} to {count} chats")
        wake_outbox(context.application)
        await query.answer()
        await admin.edit_result(query, t("announce.queued", count=count))


@admin.admin_only
async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/trangthai: how far the newest announcement got."""
    message = cast(Message, update.effective_message)
    t = await admin.translator(update, context)
    store = admin.store_of(context)
    latest = await store.outbox.latest_announcement()
    if latest is None:
        await message.reply_html(t("announce.status_none"))
        return
    announcement_id, kind, version_id, created_at = latest
    counts = await store.outbox.announcement_status(announcement_id)
    what = (
        t("announce.status_version", version=version_id)
        if kind == "version"
        else t("announce.status_text")
    )
    await message.reply_html(
        t(
            "announce.status",
            id=announcement_id,
            what=what,
            at=created_at.replace("T", " ")[:16],
            sent=counts.get("sent", 0),
            pending=counts.get("pending", 0) + counts.get("sending", 0),
            uncertain=counts.get("uncertain", 0),
            failed=counts.get("failed", 0),
            unreachable=counts.get("unreachable", 0),
        )
    )
