"""Operations end to end: /saoluu, the daily backup job, `python -m bot restore`,
the start-up check that refuses a damaged store, and CLI imports that announce."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.backup import backups_in
from bot.channels.telegram import ops
from bot.settings import Settings
from fakes.telegram import FakeBotAPI
from ranking.store import Store
from tests.support.serving import serving
from tests.test_telegram import ROOT, TOKEN, Bot, plain
from tests.test_uploads import csv_text

ADMIN = 100001
OTHER = 200002


def settings_for(srv: FakeBotAPI, tmp_path: Path) -> Settings:
    return Settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=srv.base_url,
        TELEGRAM_FILE_BASE_URL=srv.base_file_url,
        RANKBOT_DB=str(tmp_path / "bot.sqlite3"),
        RANKBOT_ADMIN_IDS=str(ADMIN),
        RANKBOT_BACKUP_DIR=str(tmp_path / "backups"),
        RANKBOT_BACKUP_KEEP=3,
    )


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeBotAPI() as srv, serving(settings_for(srv, tmp_path)) as app:
        yield Bot(srv, app)
        assert srv.violations == []


def cli(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**os.environ, "RANKBOT_DB": str(db), "TELEGRAM_BOT_TOKEN": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def integrity(path: Path) -> tuple[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
        return check, versions
    finally:
        conn.close()


async def test_backup_command_sends_a_checked_snapshot(running: Bot, tmp_path: Path) -> None:
    srv = running.srv
    refused = await running.say("/saoluu", user_id=OTHER, chat_id=OTHER)
    assert "quản trị" in plain(refused)
    mark = srv.mark()
    srv.push_update(srv.message("/saoluu", user_id=ADMIN, chat_id=ADMIN))
    sent = await srv.wait_for("sendDocument", since=mark, timeout=15)
    (name, content) = next(iter(sent.files.values()))
    assert name.startswith("rankbot-") and name.endswith(".sqlite3")
    assert "kiểm tra toàn vẹn" in sent.params["caption"]
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(content)
    assert integrity(copy) == ("ok", 2)  # the shipped DTI and provincial 2022 files
    # the copy restores and the restored bot answers from it
    db = tmp_path / "restored.sqlite3"
    done = cli("restore", str(copy), db=db)
    assert done.returncode == 0, done.stderr
    assert "Đã khôi phục" in done.stdout
    answer = cli("ask", "top 3 huyen", db=db)
    assert "Thành phố Lào Cai" in answer.stdout
    nothing_sent = not [
        c for c in srv.calls_since(mark, "sendDocument") if c.params["chat_id"] == OTHER
    ]
    assert nothing_sent


async def test_daily_backup_job_writes_and_rotates(running: Bot, tmp_path: Path) -> None:
    jobs = running.app.job_queue
    assert jobs is not None
    (job,) = jobs.get_jobs_by_name(ops.DAILY_BACKUP_JOB)
    assert job.next_t is not None and job.next_t.astimezone(ops.DAILY_BACKUP_AT.tzinfo).hour == 2
    folder = tmp_path / "backups"
    (folder / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("an admin's own file: never rotated away")
    for day in range(1, 5):  # older backups, as if from earlier nights
        (folder / f"rankbot-2026010{day}-020000.sqlite3").write_bytes(b"old")
    await job.run(running.app)
    kept = backups_in(folder)
    assert len(kept) == 3 and (folder / "notes.txt").exists()
    assert integrity(kept[-1]) == ("ok", 2)
    assert [p.name for p in kept[:2]] == [
        "rankbot-20260103-020000.sqlite3",
        "rankbot-20260104-020000.sqlite3",
    ]


async def test_daily_backup_failure_is_told_to_the_admins(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    async with FakeBotAPI() as srv:
        settings = settings_for(srv, tmp_path).replace(backup_dir=str(blocker))
        async with serving(settings) as app:
            jobs = app.job_queue
            assert jobs is not None
            mark = srv.mark()
            await jobs.get_jobs_by_name(ops.DAILY_BACKUP_JOB)[0].run(app)
            told = await srv.wait_for("sendMessage", since=mark)
            assert told.params["chat_id"] == ADMIN
            assert "Sao lưu hằng ngày không thành công" in plain(told)


def test_restore_refuses_what_is_not_a_good_backup(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    assert cli("ask", "top 1", db=db).returncode == 0  # creates and fills the database
    before = db.read_bytes()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    refused = cli("restore", str(junk), db=db)
    assert refused.returncode == 1 and "không phải tệp SQLite" in refused.stderr
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).close()
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    refused = cli("restore", str(other), db=db)
    assert refused.returncode == 1 and "không phải cơ sở dữ liệu của bot" in refused.stderr
    missing = cli("restore", str(tmp_path / "nowhere.sqlite3"), db=db)
    assert missing.returncode == 1 and "Không thấy tệp" in missing.stderr
    assert db.read_bytes() == before  # nothing was touched
    assert "Traceback" not in refused.stderr + missing.stderr


def test_a_damaged_store_is_refused_at_start(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    assert cli("ask", "top 1", db=db).returncode == 0
    with db.open("r+b") as fh:  # overwrite pages past the header: a damaged file
        fh.seek(4096)
        fh.write(b"\xff" * 8192)
    for args in (["ask", "top 1"], ["run"]):
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"}
        done = cli(*args, db=db, **(env if args == ["run"] else {}))
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "quick_check" in lines[0], done.stderr
        assert TOKEN not in done.stderr


async def test_cli_import_queues_an_announcement(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    store = await Store.open(db)
    try:
        await store.outbox.subscribe(-400007001, "group", None, by=ADMIN)
    finally:
        await store.close()
    data = tmp_path / "ket-qua-2023.csv"
    data.write_text(csv_text(), encoding="utf-8")
    done = cli("import", str(data), db=db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Đã xếp hàng thông báo tới 1 nơi" in done.stdout
    store = await Store.open(db)
    try:
        latest = await store.outbox.latest_announcement()
        assert latest is not None
        assert await store.outbox.announcement_status(latest[0]) == {"pending": 1}
    finally:
        await store.close()
