"""A publish killed at every statement boundary (issue #18): after a restart the store
holds either no trace of the version, or the version with its announcement, and that
announcement reaches every subscriber of every channel exactly once.

The publish runs in a forked child whose store's writer connection has a trace
callback (tests/support/publish_kill.py): the child SIGKILLs itself just before the
k-th statement of the publish (its transaction, then the rendering of the texts), for
k = 1 … n, n measured by a run that is not killed. Each store is then opened as a
restart would (start-up recovery, then the outbox worker) and its deliveries sent
through the fake Bot API.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from telegram import Bot

from bot.announcements import finish_announcements
from bot.channels.telegram.outbox import Outbox
from fakes.telegram import FakeBotAPI
from ranking.catalog import load_catalog
from ranking.importer import sha256
from ranking.queries import Rankings
from ranking.store import Store
from tests.support import publish_kill
from tests.support.publish_kill import (
    ACTION,
    TELEGRAM_ALL,
    TELEGRAM_OTHER,
    ZALO_ALL,
    copy_store,
    prepare,
    publish_until,
)
from tests.test_migrations import old_database
from tests.test_telegram import TOKEN

FORK = multiprocessing.get_context("fork")


def run_child(db: Path, mode: str, kill_at: int) -> tuple[int | None, int | None]:
    """(exit code, statements counted when it was not killed)."""
    count_file = db.with_suffix(".count")
    child = FORK.Process(target=publish_until, args=(db, mode, kill_at, count_file))
    child.start()
    child.join(120)
    assert child.exitcode is not None, "the publishing child hung"
    counted = int(count_file.read_text()) if count_file.exists() else None
    return child.exitcode, counted


async def restart_and_deliver(db: Path, srv: FakeBotAPI, mode: str) -> str:
    """Open the store as a restart does, send what it holds; "none" or "announced"."""
    store = await Store.open(db)
    try:
        rankings = Rankings(store, load_catalog())
        await finish_announcements(rankings)
        version = await store.scores.version_by_sha(sha256(publish_kill.data()))
        rows = await store._db.rows(
            "SELECT a.version_id, a.state AS a_state, d.channel, d.chat_id, d.state,"
            " d.text_html FROM announcements a"
            " LEFT JOIN deliveries d ON d.announcement_id = a.id ORDER BY d.chat_id"
        )
        if version is None:
            assert rows == []  # no announcement, no delivery
            if mode == "confirm":  # the ✅ can still be pressed
                action = await store.people.pending(ACTION)
                assert action is not None and action.state == "pending"
            return "none"
        assert {r["version_id"] for r in rows} == {version.id}
        found = await store.outbox.version_announcement(version.id)
        assert found is not None
        assert {r["a_state"] for r in rows} == {"queued"}
        telegram = [r["chat_id"] for r in rows if r["channel"] == "telegram"]
        zalo = [r["chat_id"] for r in rows if r["channel"] == "zalo"]
        assert sorted(telegram) == sorted(TELEGRAM_ALL)  # once each; not TELEGRAM_OTHER
        assert sorted(zalo) == sorted(ZALO_ALL)
        assert {r["state"] for r in rows} == {"pending"}
        texts = {r["chat_id"]: r["text_html"] for r in rows}
        assert all("2023" in text for text in texts.values()), texts
        assert texts[300003] != texts[TELEGRAM_ALL[0]]  # the English reader's own text
        mark = srv.mark()
        async with Bot(TOKEN, base_url=srv.base_url) as bot:
            outbox = await Outbox.start(bot, store)
            try:
                deadline = time.monotonic() + 30
                while (await store.outbox.announcement_status(found[0], channel="telegram")) != {
                    "sent": len(TELEGRAM_ALL)
                }:
                    assert time.monotonic() < deadline, "the deliveries were not sent"
                    await asyncio.sleep(0.05)
            finally:
                await outbox.stop()
        sent = Counter(
            int(c.params["chat_id"]) for c in srv.calls_since(mark, "sendMessage") if c.ok
        )
        assert sent == Counter(TELEGRAM_ALL), sent
        assert TELEGRAM_OTHER not in sent
        return "announced"
    finally:
        await store.close()


@pytest.mark.parametrize("mode", ["confirm", "cli"])
def test_sigkill_at_every_statement_of_a_publish(tmp_path: Path, mode: str) -> None:
    template = tmp_path / "template.sqlite3"
    asyncio.run(prepare(template))
    measure = tmp_path / "measure.sqlite3"
    copy_store(template, measure)
    code, total = run_child(measure, mode, 0)
    assert code == 0 and total is not None
    # BEGIN, the claim (✅ only), the version, its rows and slices, the audit line, the
    # announcement and its deliveries, COMMIT; then the texts' own transaction
    assert total >= 10, total
    killed = []
    for k in range(1, total + 1):
        db = tmp_path / f"k{k}.sqlite3"
        copy_store(template, db)
        code, _ = run_child(db, mode, k)
        assert code == -signal.SIGKILL, (k, code)
        killed.append(db)

    async def check_all() -> Counter[str]:
        outcomes: Counter[str] = Counter()
        async with FakeBotAPI() as srv:
            for db in [measure, *killed]:
                outcomes[await restart_and_deliver(db, srv, mode)] += 1
            assert srv.violations == []
        return outcomes

    outcomes = asyncio.run(check_all())
    # killed before COMMIT: nothing; after it: the version and its announcement
    assert outcomes["none"] >= 2 and outcomes["announced"] >= 3, outcomes
    assert sum(outcomes.values()) == total + 1


async def test_a_store_of_schema_7_announces_an_upload_whose_announcement_was_lost(
    tmp_path: Path,
) -> None:
    """Migration 8: a live admin upload without an announcement (the crash of issue
    #18 before this release) gets one at start; shipped data, an undone upload and one
    already announced do not."""
    path = tmp_path / "schema7.sqlite3"
    old_database(path, 7)  # version 1: uploaded_by NULL (shipped), current cds 2022 tthc
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.executescript(
            """
            BEGIN;
            INSERT INTO versions (id, created_at, uploaded_by, file_name, sha256, row_count)
                VALUES (2, '2024-02-01T00:00:00+00:00', 7, 'lost.csv', 'def', 1),
                       (3, '2024-03-01T00:00:00+00:00', 7, 'undone.csv', 'ghi', 1),
                       (4, '2024-04-01T00:00:00+00:00', 7, 'told.csv', 'jkl', 1);
            UPDATE versions SET undone_at = '2024-03-02T00:00:00+00:00' WHERE id = 3;
            INSERT INTO slices (version_id, ranking, year, group_code, max_score, unit_count,
                                band_scheme, source)
                VALUES (2, 'cds', 2023, 'tthc', '1000', 18, 'cds', 'QĐ 2'),
                       (3, 'cds', 2024, 'tthc', '1000', 18, 'cds', 'QĐ 3'),
                       (4, 'cds', 2023, 'huyen', '1000', 9, 'cds', 'QĐ 4');
            INSERT INTO scores (version_id, ranking, year, group_code, unit_id, name, score,
                                rank, rank_official, source)
                VALUES (2, 'cds', 2023, 'tthc', 1, 'Sở A', '700.00', 1, 1, 'QĐ 2'),
                       (4, 'cds', 2023, 'huyen', 1, 'Sở A', '600.00', 1, 1, 'QĐ 4');
            INSERT INTO current_slices (ranking, year, group_code, version_id)
                VALUES ('cds', 2023, 'tthc', 2), ('cds', 2023, 'huyen', 4);
            INSERT INTO announcements (id, kind, version_id, text_html, created_by, created_at)
                VALUES (1, 'version', 4, 'told', 7, '2024-04-01T00:00:00+00:00');
            INSERT INTO subscriptions (channel, chat_id, chat_type, groups, created_at)
                VALUES ('zalo', '0042', 'private', NULL, 't'),
                       ('telegram', -200, 'group', '["huyen"]', 't');
            COMMIT;
            """
        )
    store = await Store.open(path)
    try:
        preparing = await store.outbox.preparing()
        assert [(kind, version) for _, kind, version, _ in preparing] == [("version", 2)]
        announcement_id = preparing[0][0]
        rows = await store._db.rows(
            "SELECT channel, chat_id, state FROM deliveries WHERE announcement_id = ?"
            " ORDER BY channel",
            (announcement_id,),
        )
        # -100 follows tthc, the Zalo chat every group; -200 only huyen: not it
        assert [(r["channel"], r["chat_id"], r["state"]) for r in rows] == [
            ("telegram", -100, "pending"),
            ("zalo", "0042", "pending"),
        ]
        assert await finish_announcements(Rankings(store, load_catalog())) == [announcement_id]
        assert await store.outbox.preparing() == []
        assert await store.outbox.version_announcement(2) == (announcement_id, "queued")
        (pending,) = await store.outbox.next_pending()
        assert pending[1] == -100 and "2023" in pending[2]
    finally:
        await store.close()
