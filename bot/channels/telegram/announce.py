"""Announcements on Telegram: who subscribes, free-text announcements, progress.

The outbox worker that sends them is bot/channels/telegram/outbox.py; what a
version's announcement says is bot/announcements.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import Forbidden, TelegramError

from bot.announcements import echo_unknown, groups_label, parse_groups, queue_version
from bot.channels.telegram.access import admin_only, is_admin, translator
from bot.channels.telegram.context import BotApp, BotContext
from bot.channels.telegram.sending import edit_result, send_text
from bot.i18n import Translator
from bot.parsing import parse_announce_button
from bot.reply import to_plain
from bot.splitting import utf16_len
from ranking.store import ActionTaken

log = logging.getLogger("rankbot.announce")

ADMIN_CACHE_SECONDS = 60.0  # getChatAdministrators is cached this long per group
DRAFT_TTL = 15 * 60  # seconds a /thongbao preview can be confirmed
MAX_TEXT = 3500  # UTF-16 units of an admin's announcement, as Telegram counts its 4096


async def group_admin_ids(context: BotContext, chat_id: int) -> set[int]:
    """The group's administrators, cached a minute (an admin list rarely changes,
    and every /dangky would otherwise cost a request)."""
    cache = context.bot_data.group_admins
    hit = cache.get(chat_id)
    if hit is not None and time.monotonic() - hit[0] < ADMIN_CACHE_SECONDS:
        return hit[1]
    members = await context.bot.get_chat_administrators(chat_id)
    ids = {m.user.id for m in members}
    cache[chat_id] = (time.monotonic(), ids)
    return ids


async def may_manage(update: Update, context: BotContext, t: Translator) -> bool:
    """Anyone for their own private chat; in a group its administrators or a bot admin.
    An anonymous admin (speaking as the group) cannot be told apart from anyone
    allowed to post as the group, so they are asked to use their own account."""
    message = cast(Message, update.effective_message)
    user = update.effective_user
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.sender_chat is not None or user is None:
        await send_text(message, t("announce.anonymous"))
        return False
    if await is_admin(user.id, context):
        return True
    try:
        if user.id in await group_admin_ids(context, message.chat.id):
            return True
    except TelegramError as exc:
        log.warning("getChatAdministrators failed for %s: %s", message.chat.id, exc)
    await send_text(message, t("announce.group_admins_only"))
    return False


async def subscribe_command(update: Update, context: BotContext) -> None:
    """/dangky [nhóm…]: this group (or this person) gets an announcement per import."""
    message = update.effective_message
    if message is None:
        return
    t = await translator(update, context)
    if await may_manage(update, context, t):
        catalog = context.answers.catalog
        codes, unknown = parse_groups(context.args or [], catalog)
        if unknown:
            known = ", ".join(g.code for g in catalog.groups.values())
            await send_text(
                message, t("announce.unknown_groups", words=echo_unknown(unknown), groups=known)
            )
        else:
            private = message.chat.type == ChatType.PRIVATE
            user_id = update.effective_user.id if update.effective_user else None
            await context.store.outbox.subscribe(
                message.chat.id, message.chat.type, codes or None, by=user_id
            )
            key = "announce.subscribed_private" if private else "announce.subscribed_group"
            await send_text(message, t(key, groups=groups_label(codes, catalog, t)))


async def unsubscribe_command(update: Update, context: BotContext) -> None:
    """/huydangky: no more announcements here."""
    message = update.effective_message
    if message is None:
        return
    t = await translator(update, context)
    if await may_manage(update, context, t):
        user_id = update.effective_user.id if update.effective_user else None
        removed = await context.store.outbox.unsubscribe(
            message.chat.id, by=user_id, reason="command"
        )
        await send_text(
            message, t("announce.unsubscribed") if removed else t("announce.not_subscribed")
        )


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """Added to a group: say how to subscribe. Removed, kicked or blocked: stop
    sending there (every send would fail with 403 anyway)."""
    change = update.my_chat_member
    if change is None:
        return
    out = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    old, new = change.old_chat_member.status, change.new_chat_member.status
    chat = change.chat
    if new in out:
        await context.store.outbox.unsubscribe(chat.id, by=change.from_user.id, reason=new)
    elif old in out and chat.type != ChatType.PRIVATE:
        t = Translator("vi")  # a group's language: Vietnamese
        with contextlib.suppress(Forbidden):
            await context.bot.send_message(chat.id, t("announce.greeting"))


async def on_migrate(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its subscription follows it to the new id."""
    message = update.effective_message
    if message is None:
        return
    store = context.store
    if message.migrate_to_chat_id:
        await store.outbox.migrate_chat(message.chat.id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await store.outbox.migrate_chat(message.migrate_from_chat_id, message.chat.id)


# ---- admin: free-text announcements and progress ---------------------------------------


@admin_only
async def announce_command(update: Update, context: BotContext) -> None:
    """/thongbao <nội dung>: preview, then ✅ sends it to every subscriber."""
    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    store = context.store
    parts = (message.text_html or "").split(None, 1)
    body = parts[1].strip() if len(parts) > 1 else ""
    if not body:
        await send_text(message, t("announce.usage"))
        return
    length = utf16_len(to_plain(body))
    if length > MAX_TEXT:
        await send_text(message, t("announce.too_long", length=length, limit=MAX_TEXT))
        return
    count = len(await store.outbox.subscriptions())
    if count == 0:
        await send_text(message, t("announce.no_subscribers"))
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
    await send_text(message, t.plural("announce.preview", count) + "\n\n" + html, buttons=buttons)


async def on_announce_button(update: Update, context: BotContext) -> None:
    """✅ / ❌ under a /thongbao preview: its author only, within 15 minutes, once."""
    query = update.callback_query
    if query is None or not query.data:
        return
    t = await translator(update, context)
    store = context.store
    button = parse_announce_button(query.data)
    found = await store.outbox.announcement(button[0]) if button is not None else None
    if button is None or found is None or found[0] != "text":
        await query.answer(t("callback.stale"))
        return
    draft_id, verb = button
    _, _, author, created_at, state = found
    user_id = query.from_user.id
    if user_id != author or not await is_admin(user_id, context):
        log.warning("user %s pressed another admin's announcement button", user_id)
        await query.answer(t("announce.not_your_button"), show_alert=True)
    elif state != "draft":
        await query.answer(t("admin.already_done"))
    elif datetime.now(UTC) - datetime.fromisoformat(created_at) > timedelta(seconds=DRAFT_TTL):
        await store.outbox.cancel_draft(draft_id)
        await query.answer(t("announce.expired"), show_alert=True)
        await edit_result(query, t("announce.expired"))
    elif verb == "no":
        await store.outbox.cancel_draft(draft_id)
        await query.answer(t("announce.cancelled"))
        await edit_result(query, t("announce.cancelled"))
    else:
        try:
            count = await store.outbox.queue_draft(draft_id)
        except ActionTaken:
            await query.answer(t("admin.already_done"))
            return
        await store.people.audit(user_id, "announce", f"announcement {draft_id} to {count} chats")
        context.bot_data.wake_outbox()
        await query.answer()
        await edit_result(query, t.plural("announce.queued", count))


@admin_only
async def status_command(update: Update, context: BotContext) -> None:
    """/trangthai: how far the newest announcement got."""
    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    store = context.store
    latest = await store.outbox.latest_announcement()
    replies = context.bot_data.uncertain_replies
    tail = "\n" + t("announce.status_replies", count=replies) if replies else ""
    if latest is None:
        await send_text(message, t("announce.status_none") + tail)
        return
    announcement_id, kind, version_id, created_at = latest
    counts = await store.outbox.announcement_status(announcement_id)
    if kind == "version":
        what = t("announce.status_version", version=version_id)
    elif kind == "correction":
        what = t("announce.status_correction")
    else:
        what = t("announce.status_text")
    await send_text(
        message,
        t(
            "announce.status",
            id=announcement_id,
            what=what,
            at=t.datetime(created_at),
            sent=counts.get("sent", 0),
            pending=counts.get("pending", 0) + counts.get("sending", 0),
            uncertain=counts.get("uncertain", 0),
            failed=counts.get("failed", 0),
            unreachable=counts.get("unreachable", 0),
        )
        + tail,
    )


async def announce_version(
    application: BotApp, version_id: int, created_by: int | None
) -> int | None:
    """Queue what `version_id` published (bot/announcements.py) and wake the worker."""
    answers = application.bot_data.answers
    assert answers is not None
    announcement_id = await queue_version(answers.rankings, version_id, created_by)
    if announcement_id is not None:
        application.bot_data.wake_outbox()
    return announcement_id
