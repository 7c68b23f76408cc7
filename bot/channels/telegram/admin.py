"""Admins on Telegram: uploads with preview and confirmation, history, undo, the
admin list, the template. Who is an admin: bot/channels/telegram/access.py."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import cast

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import NetworkError

from bot.announcements import queue_version, ready_retractions, retraction_lines
from bot.channels.telegram.access import admin_only, is_admin, translator
from bot.channels.telegram.context import BotContext
from bot.channels.telegram.sending import edit_result, send_text
from bot.commands import BY_KEY
from bot.i18n import Translator
from bot.parsing import parse_action_button
from bot.reply import esc
from bot.settings import FORBIDDEN_ADMIN_IDS
from bot.uploads import PREVIEW_TTL, build_preview, problem_lines, reader_message
from ranking.digest import sha256
from ranking.publishing import publish, undo_latest
from ranking.store import ActionTaken, AlreadyImported, PendingAction

# The reader and the importer (and openpyxl's template) are imported by the handlers
# that need them, on the first upload: not at every start, when nobody uploads.

log = logging.getLogger("rankbot.admin")

UPLOAD = BY_KEY["upload"]  # a document captioned with one of its names is an upload


def confirm_buttons(action_id: str, t: Translator, *, near: bool = False) -> InlineKeyboardMarkup:
    ok = [InlineKeyboardButton(t("button.confirm"), callback_data=f"a:{action_id}:ok")]
    if near:
        ok = [
            InlineKeyboardButton(t("button.confirm_same"), callback_data=f"a:{action_id}:same"),
            InlineKeyboardButton(t("button.confirm_new"), callback_data=f"a:{action_id}:ok"),
        ]
    return InlineKeyboardMarkup(
        [ok, [InlineKeyboardButton(t("button.cancel"), callback_data=f"a:{action_id}:no")]]
    )


# ---- upload ----------------------------------------------------------------


@admin_only
async def upload_command(update: Update, context: BotContext) -> None:
    """/tailen: the next document is the upload (or a document captioned /tailen)."""
    from ranking.reader import Limits

    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    if context.user_data is not None:
        context.user_data.awaiting_upload = time.monotonic()
    await send_text(message, t("upload.send_file", limit_mb=Limits().max_bytes // 2**20))


async def on_document(update: Update, context: BotContext) -> None:
    """A document in a private chat: an upload when it is captioned /tailen or
    follows /tailen; a non-admin is refused either way."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    words = (message.caption or "").split()
    command = words[0].lstrip("/").split("@")[0].lower() if words else ""
    captioned = bool(words) and words[0].startswith("/") and command in UPLOAD.names
    awaited = False
    if context.user_data is not None and context.user_data.awaiting_upload is not None:
        awaited, context.user_data.awaiting_upload = True, None
    if not captioned and not awaited:
        if await is_admin(message.from_user.id if message.from_user else 0, context):
            t = await translator(update, context)
            await send_text(message, t("upload.hint_caption"))
        return
    await receive_upload(update, context)


@admin_only
async def receive_upload(update: Update, context: BotContext) -> None:
    from ranking.importer import ImportFailed, read_and_validate
    from ranking.reader import Limits, ReadProblem, problem_for_name

    message = cast(Message, update.effective_message)
    document = message.document
    assert document is not None
    t = await translator(update, context)
    user_id = cast(int, update.effective_user and update.effective_user.id)
    name = document.file_name or "upload"
    limit = Limits().max_bytes
    refused = problem_for_name(name)  # before downloading: says how to convert it
    if refused is not None:
        await send_text(message, reader_message(refused, t))
        return
    if document.file_size is not None and document.file_size > limit:
        await send_text(
            message,
            t(
                "reader.too_large",
                size_mb=round(document.file_size / 2**20, 1),
                limit_mb=limit // 2**20,
            ),
        )
        return
    telegram_file = await document.get_file()
    try:
        data = await download_capped(
            telegram_file.file_path or "", limit, read_timeout=context.settings.request_timeout
        )
    except CapExceeded:
        await send_text(
            message, t("reader.too_large", size_mb=f"> {limit // 2**20}", limit_mb=limit // 2**20)
        )
        return
    rankings = context.rankings
    digest = sha256(data)
    await context.store.people.audit(user_id, "upload", f"{name} {digest}")
    try:
        dataset = await asyncio.to_thread(read_and_validate, data, name, rankings.catalog)
    except ReadProblem as problem:
        await send_text(message, reader_message(problem, t))
        return
    except ImportFailed as failed:
        lines = [t.plural("import.refused", len(failed.problems))]
        lines += problem_lines(failed.problems, t)
        await send_text(message, "\n".join(lines))
        return
    if await rankings.store.scores.version_by_sha(digest):
        await send_text(message, t("import.identical"))
        return
    if await rankings.store.scores.version_with_content(dataset.content_digest):
        # the same rows re-saved, or as another format: nothing to write or announce
        await send_text(message, t("import.same_content", rows=dataset.rows))
        return
    preview = await build_preview(dataset, rankings, t, file_name=name)
    action = PendingAction(
        id=secrets.token_urlsafe(9),
        kind="import",
        user_id=user_id,
        chat_id=message.chat_id,
        created_at=time.time(),
        file_name=name,
        sha256=digest,
        payload=data,
        aliases=preview.near_names,
        target=None,
        state="pending",
    )
    # the bytes of previews nobody can confirm any more go before new ones are kept
    await rankings.store.people.forget_old_pending(time.time() - PREVIEW_TTL)
    await rankings.store.people.add_pending(action)
    await send_text(
        message,
        preview.html,
        confirm_buttons(action.id, t, near=bool(preview.near_names)),
    )


class CapExceeded(Exception):
    pass


DOWNLOAD_CHUNK = 64 * 1024


async def download_capped(url: str, cap: int, *, read_timeout: float) -> bytes:
    """The file at `url` (getFile's download URL), read in chunks and given up past
    `cap` bytes. Why not PTB's download_to_memory: it reads the whole body before
    anything can count it, and file_size is optional (or wrong), so a large file
    would sit in memory whole before being refused. A Content-Length over the cap
    is refused before the first chunk."""
    try:
        async with (
            httpx.AsyncClient(timeout=read_timeout) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise NetworkError(f"file download answered {response.status_code}")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > cap:
                raise CapExceeded
            data = bytearray()
            async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                data += chunk
                if len(data) > cap:
                    raise CapExceeded  # leaving the block closes the connection
            return bytes(data)
    except httpx.HTTPError as exc:
        # named by its type only: the URL carries the bot's token
        raise NetworkError(f"file download failed: {type(exc).__name__}") from None


# ---- confirm / cancel ------------------------------------------------------


async def on_action_button(update: Update, context: BotContext) -> None:
    """✅ / ❌ on an upload or undo preview. Only the uploader, within 15 minutes, once."""
    query = update.callback_query
    if query is None or not query.data:
        return
    t = await translator(update, context)
    button = parse_action_button(query.data)
    store = context.store
    action = await store.people.pending(button[0]) if button is not None else None
    # Only uploads and undos are confirmed here; a /thongbao draft has its own
    # buttons (bot/announce.py), so its id in an `a:` button is a forgery.
    if button is None or action is None or action.kind not in ("import", "undo"):
        await query.answer(t("callback.stale"))
        return
    verb = button[1]
    if query.from_user.id != action.user_id or not await is_admin(query.from_user.id, context):
        log.warning("user %s pressed another admin's button", query.from_user.id)
        await query.answer(t("admin.not_your_button"), show_alert=True)
        return
    if action.state != "pending":
        await query.answer(t("admin.already_done"))
        return
    if time.time() - action.created_at > PREVIEW_TTL:
        await store.people.cancel_pending(action.id)
        await query.answer(t("admin.expired"), show_alert=True)
        await edit_result(query, t("admin.expired"))
        return
    if verb == "no":
        await store.people.cancel_pending(action.id)
        await query.answer(t("admin.cancelled"))
        await edit_result(query, t("admin.cancelled"))
        return
    await query.answer(t("admin.working"))
    try:
        if action.kind == "import":
            text = await confirm_import(action, verb == "same", context, t)
        else:
            text = await confirm_undo(action, context, t)
    except ActionTaken:
        await edit_result(query, t("admin.already_done"))
        return
    await edit_result(query, text)


async def confirm_import(
    action: PendingAction, same_units: bool, context: BotContext, t: Translator
) -> str:
    rankings = context.rankings
    assert action.payload is not None and action.file_name and action.sha256
    aliases = (
        {(ranking, new): known for ranking, new, known in action.aliases} if same_units else {}
    )
    try:
        published = await publish(
            rankings.store,
            rankings.catalog,
            action.payload,
            action.file_name,
            uploaded_by=action.user_id,
            aliases=aliases,
            claim=action.id,
            # checked inside the write: two previews of one file confirmed at once
            # (or a CLI import meanwhile) import it once
            unless_known="live",
        )
    except AlreadyImported:
        await rankings.store.people.cancel_pending(action.id)
        return t("import.identical")
    # Written with the version (ranking/publishing.py); its texts now that it is
    # visible, then the worker sends it in the background.
    await queue_version(rankings, published.version_id, action.user_id)
    await ready_retractions(rankings, published.retracted)
    context.bot_data.wake_outbox()
    if not published.years:  # a reorganisation file: lineage, no scores
        count = len(published.upload.dataset.links)
        return t("admin.imported_lineage", version=published.version_id, count=count)
    years = ", ".join(map(str, published.years))
    lines = [t("admin.imported", version=published.version_id, years=years)]
    return "\n".join(lines + retraction_lines(published.retracted, t))


# ---- history / undo ------------------------------------------------------------


@admin_only
async def history_command(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    versions = await context.store.scores.versions(limit=15)
    lines = [t("history.title")]
    for v in versions:
        key = "history.item_undone" if v.undone_at else "history.item"
        lines.append(
            t(
                key,
                id=v.id,
                at=t.datetime(v.created_at),
                file=esc(v.file_name),
                rows=v.row_count,
                who=v.uploaded_by or t("history.shipped"),
                sha=v.sha256[:12],
            )
        )
    await send_text(message, "\n".join(lines))


@admin_only
async def undo_command(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    store = context.store
    live = [v for v in await store.scores.versions(limit=50) if v.undone_at is None]
    if not live:
        await send_text(message, t("undo.nothing"))
        return
    latest = live[0]
    action = PendingAction(
        id=secrets.token_urlsafe(9),
        kind="undo",
        user_id=cast(int, update.effective_user and update.effective_user.id),
        chat_id=message.chat_id,
        created_at=time.time(),
        file_name=latest.file_name,
        sha256=latest.sha256,
        payload=None,
        aliases=[],
        target=latest.id,
        state="pending",
    )
    await store.people.add_pending(action)
    await send_text(
        message,
        t(
            "undo.preview",
            id=latest.id,
            file=esc(latest.file_name),
            at=t.datetime(latest.created_at),
            rows=latest.row_count,
        ),
        buttons=confirm_buttons(action.id, t),
    )


async def confirm_undo(action: PendingAction, context: BotContext, t: Translator) -> str:
    undone = await undo_latest(
        context.store, undone_by=action.user_id, expect=action.target, claim=action.id
    )
    if undone is None:
        return t("undo.nothing")
    version, retraction = undone
    retracted = [retraction] if retraction is not None else []
    await ready_retractions(context.rankings, retracted)
    context.bot_data.wake_outbox()
    lines = [t("undo.done", id=version.id, file=esc(version.file_name))]
    return "\n".join(lines + retraction_lines(retracted, t))


# ---- admins and template ---------------------------------------------------------


@admin_only
async def admins_command(update: Update, context: BotContext) -> None:
    """/quantri, /quantri them <id>, /quantri xoa <id>."""
    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    store = context.store
    settings = context.settings
    args = context.args or []
    me = cast(int, update.effective_user and update.effective_user.id)
    if not args:
        from_env = ", ".join(map(str, sorted(settings.admin_ids))) or "—"
        added = ", ".join(map(str, sorted(await store.people.admin_ids()))) or "—"
        await send_text(message, t("admins.list", env=from_env, added=added))
        return
    verb = args[0].lower()
    target = args[1] if len(args) > 1 else ""
    if verb not in ("them", "add", "xoa", "remove") or not target.isdigit() or len(target) > 20:
        await send_text(message, t("admins.usage"))
        return
    user_id = int(target)
    if user_id in FORBIDDEN_ADMIN_IDS:
        await send_text(message, t("admins.forbidden_id", id=user_id))
        return
    if verb in ("them", "add"):
        added_now = await store.people.add_admin(user_id, added_by=me)
        await send_text(message, t("admins.added" if added_now else "admins.already", id=user_id))
        return
    if user_id in settings.admin_ids:
        await send_text(message, t("admins.env_admin", id=user_id))
        return
    removed = await store.people.remove_admin(user_id, removed_by=me)
    await send_text(message, t("admins.removed" if removed else "admins.not_admin", id=user_id))


@admin_only
async def template_command(update: Update, context: BotContext) -> None:
    from bot.template import template_ods, template_xlsx

    message = cast(Message, update.effective_message)
    t = await translator(update, context)
    # Excel's format and ODF, which state bodies publish editable files in (TT 19/2011)
    xlsx = await asyncio.to_thread(template_xlsx, t)
    ods = await asyncio.to_thread(template_ods, t)
    await message.reply_document(
        document=xlsx, filename="mau-xep-hang-cds.xlsx", caption=t("template.caption")
    )
    await message.reply_document(document=ods, filename="mau-xep-hang-cds.ods")
