"""A publish killed at one exact statement (tests/test_publish_crash.py).

`prepare(db)` makes a store with the shipped data, subscribers on both channels and
an admin's upload waiting for its ✅. `publish_until(db, mode, kill_at, count_file)`
then publishes that upload the way the bot's ✅ (`confirm`) or `python -m bot import`
(`cli`) does, with a trace callback on the store's writer connection: from the
publish's first `BEGIN IMMEDIATE` on, it counts the statements the writer is about
to run and SIGKILLs the process just before the `kill_at`-th (0: never; the count
is then written to `count_file`). It runs in a forked child: nothing of the process
survives the kill, as with a power cut or an OOM kill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiosqlite

import ranking.store.db
from bot import cli
from bot.channels.telegram.admin import confirm_import
from bot.i18n import Translator
from ranking.catalog import load_catalog
from ranking.importer import sha256
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import PendingAction, Store
from tests.test_uploads import csv_text

ADMIN = 100001
ACTION = "kill-test-action"
FILE_NAME = "ket-qua-2023.csv"
# Telegram: three groups and a person (in English) who follow every group; a group
# following only the district group, which this upload does not publish.
TELEGRAM_ALL = (-400007001, -400007002, -400007003, 300003)
TELEGRAM_OTHER = -400007009
ZALO_ALL = ("7a1c0e5b9d3f2a4c6e80", "0042")


def data() -> bytes:
    return csv_text().encode()


async def prepare(db: Path) -> None:
    store = await Store.open(db)
    try:
        await load_shipped_data(store, load_catalog())
        for chat_id in TELEGRAM_ALL:
            chat_type = "private" if chat_id > 0 else "group"
            await store.outbox.subscribe(chat_id, chat_type, None, by=ADMIN)
        await store.people.set_language(300003, "en")
        await store.outbox.subscribe(TELEGRAM_OTHER, "group", ["huyen"], by=ADMIN)
        for zalo_id in ZALO_ALL:
            await store.outbox.subscribe(zalo_id, "private", None, by=None, channel="zalo")
        await store.people.add_pending(
            PendingAction(
                id=ACTION,
                kind="import",
                user_id=ADMIN,
                chat_id=ADMIN,
                created_at=time.time(),
                file_name=FILE_NAME,
                sha256=sha256(data()),
                payload=data(),
                aliases=[],
                target=None,
                state="pending",
            )
        )
    finally:
        await store.close()


def _install_killer(kill_at: int, counted: list[str]) -> None:
    """The store's first connection is its writer (Database.open): trace it."""
    original = ranking.store.db._connect
    armed = False

    def trace(sql: str) -> None:
        nonlocal armed
        armed = armed or sql.strip().upper() == "BEGIN IMMEDIATE"
        if not armed:
            return
        counted.append(sql)
        if len(counted) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    opened: list[aiosqlite.Connection] = []

    async def connect(path: str) -> aiosqlite.Connection:
        conn = await original(path)
        if not opened:
            await conn.set_trace_callback(trace)
        opened.append(conn)
        return conn

    ranking.store.db._connect = connect


async def _confirm(db: Path) -> None:
    store = await Store.open(db)
    try:
        rankings = Rankings(store, load_catalog())
        action = await store.people.pending(ACTION)
        assert action is not None
        context: Any = SimpleNamespace(
            rankings=rankings, bot_data=SimpleNamespace(wake_outbox=lambda: None)
        )
        await confirm_import(action, False, context, Translator("vi"))
    finally:
        await store.close()


def publish_until(db: Path, mode: str, kill_at: int, count_file: Path) -> None:
    """The child's whole life: publish, killed before statement `kill_at`."""
    counted: list[str] = []
    _install_killer(kill_at, counted)
    if mode == "confirm":
        asyncio.run(_confirm(db))
    else:
        source = db.with_suffix(".csv")
        source.write_bytes(data())
        os.environ["RANKBOT_DB"] = str(db)
        assert cli.import_file(str(source), dry_run=False) == 0
    count_file.write_text(str(len(counted)), encoding="utf-8")


def copy_store(template: Path, target: Path) -> None:
    """A consistent copy of a WAL store (its -wal file included) through the backup API."""
    src = sqlite3.connect(template)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
