"""Guards in front of what costs a reply or a write, and honest failures, end to end
through the fake Bot API (and the fake Zalo Bot API) with the faults injected:

- the flood guard before every costly update (admin-only commands for non-admins,
  /dangky, /huydangky, documents, buttons), refusals recorded once a minute per user;
- every reply cut within Telegram's limits (UTF-16 units), a failure answered once;
- button data bounded before it reaches the store.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import AbstractAsyncContextManager, closing
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram import ops
from fakes.telegram import Call
from fakes.telegram.html import utf16_len
from fakes.zalo import FakeZaloBotAPI
from ranking.store import Store
from tests.support.disk import fill_the_disk, free_the_disk
from tests.test_telegram import Bot, plain
from tests.test_uploads import admin_bot, buttons, confirm, csv_text, upload
from tests.test_zalo import ADMIN as ZALO_ADMIN
from tests.test_zalo import MEMBER as ZALO_MEMBER
from tests.test_zalo import zalo_bot, zalo_settings

ADMIN = 100001
FLOODER = 300003
BYSTANDER = 400004
STALE = "Nút này đã cũ"
ROOT = Path(__file__).resolve().parent.parent
UNKNOWN_COMMAND = "Không có lệnh"


def guarded_bot(tmp_path: Path, **extra: Any) -> AbstractAsyncContextManager[Bot]:
    """The running bot with ADMIN listed and the flood guard at its defaults (30 a
    minute, a burst of 10)."""
    return admin_bot(tmp_path, **extra)


def store_of(running: Bot) -> Store:
    store: Store = running.app.bot_data.store
    return store


def to_chat(calls: list[Call], chat_id: int) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == chat_id]


async def ask(running: Bot, text: str, user_id: int, **kw: Any) -> Call:
    """`text` in `user_id`'s private chat; the first reply there (others may be busy)."""
    srv = running.srv
    mark = srv.mark()
    srv.push_update(srv.message(text, user_id=user_id, chat_id=user_id, **kw))
    return await srv.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == user_id, since=mark, timeout=30
    )


async def settle(running: Bot) -> None:
    """Every pushed update fetched and the bot quiet (a flood takes a while)."""
    await running.srv.wait_idle(quiet=0.5, timeout=120)


# ---- the flood guard ---------------------------------------------------------------------


async def test_500_non_admin_history_commands_cost_a_burst_and_one_audit_row(
    tmp_path: Path,
) -> None:
    async with guarded_bot(tmp_path) as running:
        srv = running.srv
        mark = srv.mark()
        for _ in range(500):
            srv.push_update(srv.message("/lichsu", user_id=FLOODER, chat_id=FLOODER))
        # someone else asks in the middle of the flood, and is answered
        other = await ask(running, "/nam", BYSTANDER)
        assert other.ok and "2022" in plain(other)
        await settle(running)
        replies = [plain(c) for c in to_chat(srv.calls_since(mark), FLOODER)]
        refusals = [r for r in replies if "chỉ dành cho quản trị viên" in r]
        waits = [r for r in replies if "Chờ một chút" in r]
        assert len(waits) == 1, replies
        # the burst of 10, plus the few tokens that came back while 500 were read
        assert 10 <= len(refusals) <= 15, len(refusals)
        assert len(replies) == len(refusals) + 1
        # one audit row for the whole flood: the rest is counted into the next one
        refused = await store_of(running).people.audit_entries("refused")
        assert [(user, detail) for user, _, detail in refused] == [
            (FLOODER, "history_command: not_admin")
        ]
        assert srv.calls_since(mark, "sendMessage") == [
            c for c in srv.calls_since(mark, "sendMessage") if c.ok
        ]


async def test_the_next_refusal_row_carries_the_count(tmp_path: Path) -> None:
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        for _ in range(4):
            await running.say("/hoantac", user_id=FLOODER, chat_id=FLOODER)
        running.app.bot_data.refusals.per = 1e-9  # the minute is over
        await running.say("/mau", user_id=FLOODER, chat_id=FLOODER)
        details = [d for _, _, d in await store_of(running).people.audit_entries("refused")]
        assert details == [
            "undo_command: not_admin",
            "template_command: not_admin (+3 refused before, not recorded one by one)",
        ]


async def test_every_costly_update_of_a_flooder_is_guarded(tmp_path: Path) -> None:
    """Admin-only commands, /dangky, /huydangky, documents and both kinds of
    confirmation button, 40 of each from one non-admin: one burst of answers in
    all, no download past the burst, one audit row."""
    async with guarded_bot(tmp_path) as running:
        srv = running.srv
        mark = srv.mark()
        anchor = await ask(running, "/nam", FLOODER)
        for i in range(40):
            for command in ("/quantri them 5", "/dangky", "/huydangky"):
                srv.push_update(srv.message(command, user_id=FLOODER, chat_id=FLOODER))
            document = srv.document_message(
                csv_text().encode(), f"f{i}.csv", caption="/tailen", user_id=FLOODER
            )
            srv.push_update(document)
            srv.push_update(srv.callback_query("a:abc:ok", message=anchor.result, user_id=FLOODER))
            srv.push_update(srv.callback_query("n:1:ok", message=anchor.result, user_id=FLOODER))
        other = await ask(running, "/nam", BYSTANDER)
        assert "2022" in plain(other)
        await settle(running)
        calls = srv.calls_since(mark)
        said = to_chat(calls, FLOODER)
        told = [c for c in calls if c.method == "answerCallbackQuery" and c.params.get("text")]
        # 10 of the burst (the anchor was one) + a few refilled + one "wait"
        assert 10 <= len(said) + len(told) <= 17, (len(said), len(told))
        assert len([c for c in calls if c.method == "getFile"]) <= 9
        assert len(await store_of(running).people.audit_entries("refused")) == 1
        assert await store_of(running).people.admin_ids() == set()


async def test_zalo_has_the_same_guard(tmp_path: Path) -> None:
    """On Zalo: admin commands, pictures and stickers from one member, 60 each: one
    burst of answers and one "wait"; another user is answered meanwhile."""
    async with (
        FakeZaloBotAPI() as srv,
        zalo_bot(
            zalo_settings(srv, tmp_path / "zalo.sqlite3", RANKBOT_FLOOD_PER_MINUTE=30), srv
        ) as running,
    ):
        for _ in range(60):
            srv.user_sends_text("/hoantac", user_id=ZALO_MEMBER)
            srv.user_sends_sticker(user_id=ZALO_MEMBER)
            srv.user_sends_image("https://example.org/a.png", user_id=ZALO_MEMBER)
        assert "2022" in await running.text("/nam", user_id=ZALO_ADMIN)
        await srv.wait_until(lambda: srv.pending_updates == 0, timeout=60, what="the flood read")
        # the guard's wait is sent once the burst is gone: wait for it, then for calm
        await srv.wait_until(
            lambda: any("Chờ một chút" in (s.text or "") for s in srv.sent_to(ZALO_MEMBER)),
            timeout=60,
            what="the one wait",
        )
        count = len(srv.sent_to(ZALO_MEMBER))
        assert "2022" in await running.text("/nam", user_id=ZALO_ADMIN)
        assert len(srv.sent_to(ZALO_MEMBER)) == count  # nothing more came meanwhile
        texts = [s.text or "" for s in srv.sent_to(ZALO_MEMBER)]
        assert len([t for t in texts if "Chờ một chút" in t]) == 1
        assert 10 <= len(texts) - 1 <= 15, texts


# ---- replies within Telegram's limits; a failure answered once ------------------------------


async def test_subscribe_with_817_unknown_words_is_cut_not_refused(tmp_path: Path) -> None:
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        srv = running.srv
        words = " ".join(f"nhóm-lạ-số-{i}" for i in range(817))
        mark = srv.mark()
        srv.push_update(srv.message(f"/dangky {words}", user_id=ADMIN, chat_id=ADMIN))
        await srv.wait_for("sendMessage", since=mark)
        await srv.wait_idle(quiet=0.3)
        sent = srv.calls_since(mark, "sendMessage")
        assert sent and all(c.ok for c in sent), [c.summary() for c in sent]
        assert all(utf16_len(c.params["text"]) <= 4096 for c in sent)
        text = "\n".join(plain(c) for c in sent)
        # the first words said back, then how many more; the groups that work stay in
        assert "«nhom la so 0 nhom la so 1 nhom la … (+3258)»" in text
        assert "tthc, khong-tthc, huyen" in text
        assert UNKNOWN_COMMAND not in text and "Xin lỗi" not in text


async def test_announcement_limit_counts_utf16_units(tmp_path: Path) -> None:
    """3500 as Telegram counts: 1800 emoji are 3600 units (1800 code points)."""
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        await running.say("/dangky", user_id=BYSTANDER, chat_id=BYSTANDER)
        too_long = await running.say("/thongbao " + "😀" * 1800, user_id=ADMIN, chat_id=ADMIN)
        assert "3600" in plain(too_long) and "3500" in plain(too_long)
        preview = await running.say("/thongbao " + "😀" * 1700, user_id=ADMIN, chat_id=ADMIN)
        assert preview.ok and "😀" * 1700 in plain(preview)
        assert preview.params.get("reply_markup")  # ✅ / ❌ under it


async def test_a_failing_handler_answers_once_and_not_as_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the store broke")

    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        monkeypatch.setattr(store_of(running).outbox, "subscribe", broken)
        srv = running.srv
        mark = srv.mark()
        srv.push_update(
            srv.message("/dangky", user_id=BYSTANDER, chat_id=BYSTANDER, language_code="en")
        )
        await srv.wait_for("sendMessage", since=mark)
        await srv.wait_idle(quiet=0.5)
        replies = [plain(c) for c in to_chat(srv.calls_since(mark), BYSTANDER)]
        assert len(replies) == 1, replies
        assert "Sorry" in replies[0] and UNKNOWN_COMMAND not in replies[0]


# ---- button data -------------------------------------------------------------------------


FORGED = [
    "n:99999999999999999999:ok",
    "n:9223372036854775808:ok",  # one past SQLite's largest integer
    "n:-1:ok",
    "n:0:ok",
    "n:1:ok:more",
    "n:1:send",
    "n:١:ok",  # an Arabic-Indic digit
    "n:",
    "a:" + "x" * 40 + ":ok",
    "a:abc:drop",
    "a::ok",
    "a:abc",
    "a:a b:ok",
]


async def test_forged_confirmation_buttons_are_stale(tmp_path: Path) -> None:
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        srv = running.srv
        anchor = await running.say("/nam", user_id=ADMIN, chat_id=ADMIN)
        for data in FORGED:
            mark = srv.mark()
            srv.push_update(srv.callback_query(data, message=anchor.result, user_id=ADMIN))
            answer = await srv.wait_for("answerCallbackQuery", since=mark)
            await srv.wait_idle(quiet=0.1)
            assert STALE in answer.params.get("text", ""), data
            assert srv.calls_since(mark, "sendMessage") == [], data  # no apology either


# ---- the download cap while it streams ---------------------------------------------------


@pytest.mark.parametrize("declared", [None, 1000], ids=["no-size", "lying-size"])
async def test_download_stops_at_the_cap_whatever_file_size_says(
    tmp_path: Path, declared: int | None
) -> None:
    """A 2.5 GB body (never allocated: the fake repeats 256 KB, without a
    Content-Length) is refused after a little more than 5 MB has been read."""
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        srv = running.srv
        update = srv.document_message(
            b"a;b\n" * 65536,
            "huge.csv",
            caption="/tailen",
            declared_size=declared,
            user_id=ADMIN,
            chat_id=ADMIN,
        )
        srv.files[update["message"]["document"]["file_id"]].repeat = 10_000
        mark = srv.mark()
        srv.push_update(update)
        reply = await srv.wait_for("sendMessage", since=mark, timeout=30)
        assert "5 MB" in plain(reply)
        download = await srv.wait_for("file_download", since=mark)
        served = int(re.fullmatch(r"<(\d+) bytes>", download.result)[1])  # type: ignore[index]
        # what the server got written before the bot hung up: the cap plus what the
        # sockets' buffers took, far from the 2.5 GB a whole read would have taken
        assert served < 64 * 2**20, served
        assert await store_of(running).people.audit_entries("upload") == []


# ---- pending uploads expire; backups carry none; no copy left behind ----------------------


async def test_pending_upload_bytes_expire_and_backups_carry_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = csv_text().encode()
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        srv = running.srv
        mark = srv.mark()
        srv.push_update(
            srv.document_message(data, "x.csv", caption="/tailen", user_id=ADMIN, chat_id=ADMIN)
        )
        preview = await srv.wait_for("sendMessage", since=mark, timeout=15)
        assert "Xem trước" in plain(preview)
        action_id = buttons(preview)["✅ Xác nhận"].split(":")[1]
        store = store_of(running)
        pending = await store.people.pending(action_id)
        assert pending is not None and pending.payload == data
        # the backup has the preview cancelled, without its bytes
        mark = srv.mark()
        srv.push_update(srv.message("/saoluu", user_id=ADMIN, chat_id=ADMIN))
        sent = await srv.wait_for("sendDocument", since=mark, timeout=15)
        (_, content) = next(iter(sent.files.values()))
        assert data not in content and data[:200] not in content
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes(content)
        with closing(sqlite3.connect(copy)) as conn:
            rows = conn.execute("SELECT state, payload FROM pending_actions").fetchall()
        assert rows == [("cancelled", None)]
        # the job that runs every few minutes: once the preview timed out, its bytes go
        jobs = running.app.job_queue
        assert jobs is not None
        (job,) = jobs.get_jobs_by_name(ops.FORGET_UPLOADS_JOB)
        await job.run(running.app)
        pending = await store.people.pending(action_id)
        assert pending is not None and pending.payload == data  # not yet timed out
        monkeypatch.setattr(ops, "PREVIEW_TTL", -60)  # as if 15 minutes had passed
        await job.run(running.app)
        pending = await store.people.pending(action_id)
        assert pending is not None and pending.payload is None


async def test_a_new_upload_drops_the_bytes_of_answered_previews(tmp_path: Path) -> None:
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        first = await upload(running, csv_text().encode(), "x.csv")
        first_id = buttons(first)["✅ Xác nhận"].split(":")[1]
        done = await confirm(running, first)
        assert "Đã công bố" in plain(done)
        store = store_of(running)
        corrected = csv_text().replace("731,61", "731,62")  # one score corrected
        assert corrected != csv_text()
        second = await upload(running, corrected.encode(), "y.csv")
        assert "Xem trước" in plain(second)
        answered = await store.people.pending(first_id)
        assert answered is not None and answered.state == "done" and answered.payload is None


async def test_leftover_backup_copies_are_swept_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    dead = temp_root / "rankbot-backup-999999999-abc"  # past any pid_max: not running
    dead.mkdir()
    (dead / "rankbot-20260101-000000.sqlite3").write_bytes(b"a whole copy")
    mine = temp_root / f"rankbot-backup-{os.getpid()}-def"  # a live process's: kept
    mine.mkdir()
    other = temp_root / "rankbot-backup-notes"  # not our naming: kept
    other.mkdir()
    backups = tmp_path / "backups"
    backups.mkdir()
    half = backups / ".rankbot-20260101-000000.sqlite3.x1y2.tmp"
    half.write_bytes(b"half a copy")
    kept = backups / "rankbot-20260101-000000.sqlite3"
    kept.write_bytes(b"a finished backup")
    async with guarded_bot(tmp_path, RANKBOT_BACKUP_DIR=str(backups)) as running:
        assert "2022" in plain(await ask(running, "/nam", BYSTANDER))
        assert not dead.exists() and not half.exists()
        assert mine.exists() and other.exists() and kept.exists()


# ---- failures named for what they are ------------------------------------------------------


async def test_a_full_disk_is_named_reads_go_on_backup_works_and_it_recovers(
    tmp_path: Path,
) -> None:
    async with guarded_bot(tmp_path, RANKBOT_FLOOD_PER_MINUTE=0) as running:
        srv = running.srv
        store = store_of(running)
        await fill_the_disk(store)
        mark = srv.mark()
        refused = await ask(running, "/dangky", BYSTANDER)
        assert "không ghi được dữ liệu (ổ đĩa đầy)" in plain(refused)
        assert "Xin lỗi, đã có lỗi" not in plain(refused)
        told = await srv.wait_for(
            "sendMessage", lambda c: c.params["chat_id"] == ADMIN, since=mark, timeout=15
        )
        assert "ổ đĩa đầy" in plain(told) and "tự chạy lại" in plain(told)
        # a second write fails the same way: the user is told, the admin not again
        again = await ask(running, "/dangky", FLOODER, language_code="en")
        assert "the disk is full" in plain(again)
        assert "2022" in plain(await ask(running, "/nam", FLOODER))  # reads go on
        await srv.wait_idle(quiet=0.3)
        assert len(to_chat(srv.calls_since(mark), ADMIN)) == 1
        # /saoluu writes nothing before the file is sent
        backup_mark = srv.mark()
        srv.push_update(srv.message("/saoluu", user_id=ADMIN, chat_id=ADMIN))
        sent = await srv.wait_for("sendDocument", since=backup_mark, timeout=15)
        assert sent.ok and next(iter(sent.files.values()))[0].endswith(".sqlite3")
        await srv.wait_idle(quiet=0.3)
        assert to_chat(srv.calls_since(backup_mark), ADMIN) == []  # no apology after it
        # space again: the same write works, nothing restarted
        await free_the_disk(store)
        done = await ask(running, "/dangky", BYSTANDER)
        assert "Bạn sẽ nhận thông báo" in plain(done)


@pytest.mark.parametrize("kind", ["folder", "not-a-database"])
def test_an_unusable_database_at_start_is_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "bot.sqlite3"
    if kind == "folder":
        db.mkdir()  # what SQLite cannot open, whoever runs it (root too)
    else:
        db.write_bytes(b"these are not the pages of a database " * 200)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "/nam"],
        cwd=ROOT,
        env={**os.environ, "RANKBOT_DB": str(db), "TELEGRAM_BOT_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and str(db) in lines[0]
