"""Operations on Telegram: /saoluu and the nightly backup (bot/backup.py does the work)."""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import tempfile
import time
from datetime import time as day_time
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from telegram import Message, Update, User
from telegram.constants import FileSizeLimit
from telegram.error import TelegramError

from bot import backup
from bot.backup import BackupError
from bot.channels.telegram.access import admin_only, translator
from bot.channels.telegram.context import BotApp, BotContext
from bot.channels.telegram.sending import send_text
from bot.i18n import Translator
from bot.reply import esc, esc_params
from bot.uploads import PREVIEW_TTL

log = logging.getLogger("rankbot.ops")

# 02:00 in Lào Cai: after the working day's uploads, before anyone asks.
DAILY_BACKUP_AT = day_time(2, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
DAILY_BACKUP_JOB = "daily-backup"
FORGET_UPLOADS_JOB = "forget-expired-uploads"
FORGET_UPLOADS_EVERY = 5 * 60  # seconds


def backup_error_text(exc: BackupError, t: Translator) -> str:
    return t(exc.key, **esc_params(exc.params))


@admin_only
async def backup_command(update: Update, context: BotContext) -> None:
    """/saoluu: a consistent snapshot (SQLite's online backup API, integrity-checked)
    sent to the admin as a file; the bot keeps answering meanwhile."""
    message = cast(Message, update.effective_message)
    user_id = cast(User, update.effective_user).id  # admin_only: there is one
    t = await translator(update, context)
    settings = context.settings
    # Nothing is written into the store before the file is sent: on a full disk the
    # backup is what the admin needs most. A folder a kill leaves behind is swept at
    # the next start (backup.sweep_leftovers).
    with tempfile.TemporaryDirectory(prefix=backup.temp_folder_prefix()) as folder:
        try:
            path = await asyncio.to_thread(backup.backup_to, settings.db_path, Path(folder))
        except BackupError as exc:
            log.error("backup for user %s failed: %s %s", user_id, exc.key, exc.params)
            await send_text(message, backup_error_text(exc, t))
            return
        size = path.stat().st_size
        if size > FileSizeLimit.FILESIZE_UPLOAD:
            await send_text(
                message,
                t(
                    "backup.too_large",
                    size=t.number(size // 1_000_000),
                    folder=esc(str(settings.backup_folder())),
                ),
            )
            return
        data = await asyncio.to_thread(path.read_bytes)
    store = context.store
    versions = await store.scores.versions(limit=1)
    await message.reply_document(
        document=data,
        filename=path.name,
        caption=t(
            "backup.caption",
            file=path.name,
            version=versions[0].id if versions else 0,
            kb=t.number(max(1, math.ceil(size / 1024))),
        ),
    )
    try:
        await store.people.audit(user_id, "backup", f"{path.name} {size} bytes")
    except sqlite3.Error as exc:  # a full or read-only disk: the admin has the file
        log.error("backup sent to user %s, its audit line not written: %s", user_id, exc)


async def daily_backup(context: BotContext) -> None:
    """The JobQueue's nightly copy into RANKBOT_BACKUP_DIR, keeping the newest
    RANKBOT_BACKUP_KEEP; a failure is logged and told to the admins."""
    settings = context.settings
    folder = settings.backup_folder()
    try:
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        path = await asyncio.to_thread(backup.backup_to, settings.db_path, folder)
        removed = await asyncio.to_thread(backup.rotate, folder, settings.backup_keep)
    except (BackupError, OSError) as exc:
        detail = f"{exc.key} {exc.params}" if isinstance(exc, BackupError) else str(exc)
        log.error("daily backup into %s failed: %s", folder, detail)
        t = Translator("vi")
        text = (
            backup_error_text(exc, t)
            if isinstance(exc, BackupError)
            else t("backup.failed", detail=exc.strerror or type(exc).__name__)
        )
        for admin_id in sorted(settings.admin_ids):
            try:
                await context.bot.send_message(admin_id, t("backup.daily_failed", reason=text))
            except TelegramError as send_error:
                log.warning("could not tell admin %s: %s", admin_id, send_error)
        return
    log.info("daily backup %s written, %d old ones removed", path.name, len(removed))


async def forget_expired_uploads(context: BotContext) -> None:
    """The bytes of uploads whose preview timed out (or was answered) leave the store."""
    try:
        dropped = await context.store.people.forget_old_pending(time.time() - PREVIEW_TTL)
    except sqlite3.Error as exc:  # a full or locked disk: the next round tries again
        log.warning("could not drop expired uploads: %s", exc)
        return
    if dropped:
        log.info("dropped %d expired uploads", dropped)


def schedule_backups(application: BotApp) -> None:
    """Once a day at DAILY_BACKUP_AT, and expired uploads every few minutes (call
    from post_init)."""
    jobs = application.job_queue
    if jobs is None:  # pragma: no cover - the job-queue extra is a dependency
        log.warning("no JobQueue: daily backups are off")
        return
    for name in (DAILY_BACKUP_JOB, FORGET_UPLOADS_JOB):
        for old in jobs.get_jobs_by_name(name):
            old.schedule_removal()
    jobs.run_daily(daily_backup, time=DAILY_BACKUP_AT, name=DAILY_BACKUP_JOB)
    jobs.run_repeating(
        forget_expired_uploads, interval=FORGET_UPLOADS_EVERY, first=0, name=FORGET_UPLOADS_JOB
    )


def sweep_leftovers(application: BotApp) -> None:
    """At start: the temporary copies a killed backup left behind."""
    settings = application.bot_data.settings
    assert settings is not None
    removed = backup.sweep_leftovers(Path(tempfile.gettempdir()), settings.backup_folder())
    if removed:
        log.info("removed %d leftover backup copies", len(removed))
