"""`python -m bot run` with Zalo: alone, beside Telegram, and killed in the middle of
announcing one upload to both (the fake Bot API servers of both on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from fakes.telegram import FakeBotAPI
from fakes.zalo import DEFAULT_TOKEN, FakeZaloBotAPI
from ranking.store import Store
from tests.support.waiting import eventually
from tests.test_announce import running_bot
from tests.test_telegram import ROOT, TOKEN, plain
from tests.test_uploads import ADMIN, buttons, csv_text, upload

ZALO_USER = "e4ea2cd5189df1c3a88c"


def base_env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    return {
        **env,
        "TELEGRAM_BOT_TOKEN": "",
        "ZALO_BOT_TOKEN": "",
        "RANKBOT_DB": str(db),
        "RANKBOT_FLOOD_PER_MINUTE": "0",
        **extra,
    }


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def stopped(proc: asyncio.subprocess.Process) -> str:
    """SIGTERM, the exit status 0, and what it wrote to stderr."""
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    text = stderr.decode()
    assert proc.returncode == 0, text
    return text


async def run_to_exit(env: dict[str, str]) -> tuple[int, str]:
    proc = await start(env)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, stderr.decode()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_only_zalo_answers_private_questions(tmp_path: Path) -> None:
    async with FakeZaloBotAPI() as srv:
        env = base_env(
            tmp_path / "z.sqlite3", ZALO_BOT_TOKEN=DEFAULT_TOKEN, ZALO_API_BASE_URL=srv.base_url
        )
        srv.user_sends_text("bac ha")  # arrived while the bot was down: answered at start
        proc = await start(env)
        try:
            await srv.wait_until(lambda: len(srv.sent_to(ZALO_USER)) >= 1, timeout=60)
            srv.user_sends_text("/top 10 huyen 2022")
            await srv.wait_until(lambda: len(srv.sent_to(ZALO_USER)) >= 2, timeout=15)
        finally:
            stderr = await stopped(proc)
        card, top = (s.text or "" for s in srv.sent_to(ZALO_USER))
        assert card.startswith("🏛 Huyện Bắc Hà") and "585,45/1.000 (58,55 %)" in card
        assert "1. Thành phố Lào Cai — 651,93 (65,19 %) · Nâng cao" in top
        assert "9. Huyện Văn Bàn — 449,13 (44,91 %) · Hình thành" in top
        assert all(len(s.text or "") <= 2000 for s in srv.sent_to(ZALO_USER))
        assert DEFAULT_TOKEN in srv.tokens_seen  # it was really used…
        assert DEFAULT_TOKEN not in stderr and DEFAULT_TOKEN.split(":")[1] not in stderr
        assert "Traceback" not in stderr and "Zalo channel running" in stderr


async def test_zalo_token_problems_are_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite3"
    code, stderr = await run_to_exit(base_env(db, ZALO_BOT_TOKEN="not a token"))
    assert code == 2 and stderr.count("\n") == 1 and "ZALO_BOT_TOKEN" in stderr
    assert "not a token" not in stderr
    code, stderr = await run_to_exit(base_env(db))
    assert code == 2 and "TELEGRAM_BOT_TOKEN" in stderr and "ZALO_BOT_TOKEN" in stderr
    async with FakeZaloBotAPI(valid_tokens=["1:other"]) as srv:  # a revoked token
        env = base_env(db, ZALO_BOT_TOKEN=DEFAULT_TOKEN, ZALO_API_BASE_URL=srv.base_url)
        code, stderr = await run_to_exit(env)
    assert code == 2 and "Zalo rejected ZALO_BOT_TOKEN" in stderr, stderr
    unreachable = f"http://127.0.0.1:{dead_port()}/bot"
    code, stderr = await run_to_exit(
        base_env(db, ZALO_BOT_TOKEN=DEFAULT_TOKEN, ZALO_API_BASE_URL=unreachable)
    )
    assert code == 1 and "cannot reach the Zalo Bot API" in stderr, stderr
    assert DEFAULT_TOKEN.split(":")[1] not in stderr and "Traceback" not in stderr


async def test_zalo_serves_while_telegram_cannot_be_reached(tmp_path: Path) -> None:
    """Telegram blocked (its API unreachable) must not keep Zalo from starting."""
    dead = f"http://127.0.0.1:{dead_port()}"
    async with FakeZaloBotAPI() as srv:
        env = base_env(
            tmp_path / "b.sqlite3",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=f"{dead}/bot",
            TELEGRAM_FILE_BASE_URL=f"{dead}/file/bot",
            ZALO_BOT_TOKEN=DEFAULT_TOKEN,
            ZALO_API_BASE_URL=srv.base_url,
        )
        proc = await start(env)
        try:
            srv.user_sends_text("/top 1 huyen 2022")
            await srv.wait_until(lambda: len(srv.sent_to(ZALO_USER)) >= 1, timeout=60)
        finally:
            stderr = await stopped(proc)
        assert "651,93" in (srv.sent_to(ZALO_USER)[0].text or "")
        assert "cannot reach the Telegram Bot API" in stderr and "tried again" in stderr
        assert TOKEN not in stderr and DEFAULT_TOKEN not in stderr


def delivery_counts(db: Path, channel: str) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT d.state, COUNT(*) FROM deliveries d"
            " WHERE d.channel = ? AND d.announcement_id ="
            " (SELECT MAX(id) FROM announcements WHERE kind = 'version')"
            " GROUP BY d.state",
            (channel,),
        ).fetchall()
    return {str(state): int(n) for state, n in rows}


async def test_one_upload_is_announced_once_on_each_channel_across_a_kill(
    tmp_path: Path,
) -> None:
    """An admin's upload confirmed on Telegram goes to the subscribed Telegram groups and
    to the subscribed Zalo groups; `python -m bot run` is SIGKILLed while both
    broadcasts are under way, and the restarted process sends the rest: no group gets
    it twice on either channel (the one send in flight at the kill, per channel, may be
    left uncertain, never resent)."""
    db = tmp_path / "both.sqlite3"
    telegram_groups = [-400007000 - i for i in range(60)]
    zalo_groups = [f"9{i:019d}" for i in range(30)]
    store = await Store.open(db)
    try:
        for chat_id in telegram_groups:
            await store.outbox.subscribe(chat_id, "group", None, by=ADMIN)
        for zalo_id in zalo_groups:
            await store.outbox.subscribe(zalo_id, "group", None, by=None, channel="zalo")
    finally:
        await store.close()

    async with FakeBotAPI(enforce_limits=True) as tg, FakeZaloBotAPI(enforce_limits=True) as zalo:
        env = base_env(
            db,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=tg.base_url,
            TELEGRAM_FILE_BASE_URL=tg.base_file_url,
            RANKBOT_ADMIN_IDS=str(ADMIN),
            ZALO_BOT_TOKEN=DEFAULT_TOKEN,
            ZALO_API_BASE_URL=zalo.base_url,
        )
        wanted_tg = set(telegram_groups)

        def on_telegram() -> Counter[int]:
            return Counter(
                int(c.params["chat_id"])
                for c in tg.calls_since(0, "sendMessage")
                if c.ok and int(c.params["chat_id"]) in wanted_tg
            )

        def on_zalo() -> Counter[str]:
            return Counter(s.chat_id for s in zalo.sent if s.chat_id in zalo_groups)

        def both(condition: Callable[[int, int], bool]) -> Callable[[], bool]:
            return lambda: condition(sum(on_telegram().values()), sum(on_zalo().values()))

        first = await start(env)
        try:
            await tg.wait_for("getUpdates", timeout=60)
            await zalo.wait_polling(timeout=60)
            preview = await upload(running_bot(tg), csv_text().encode(), "ket-qua-2023.csv")
            tg.push_update(
                tg.callback_query(
                    buttons(preview)["✅ Xác nhận"], message=preview.result, user_id=ADMIN
                )
            )
            await eventually(both(lambda t, z: t >= 15 and z >= 4), "both broadcasts under way")
        finally:
            first.kill()
            await first.communicate()
        at_kill = sum(on_telegram().values()), sum(on_zalo().values())
        assert at_kill[0] < len(telegram_groups) and at_kill[1] < len(zalo_groups), at_kill

        second = await start(env)
        try:

            def settled() -> bool:
                return all(
                    not (counts.get("pending") or counts.get("sending"))
                    for counts in (delivery_counts(db, "telegram"), delivery_counts(db, "zalo"))
                )

            await eventually(settled, "every delivery sent or settled", timeout=90)
        finally:
            stderr = await stopped(second)
        assert TOKEN not in stderr and DEFAULT_TOKEN not in stderr
        for channel, sent, wanted in (
            ("telegram", on_telegram(), wanted_tg),
            ("zalo", on_zalo(), set(zalo_groups)),
        ):
            counts = delivery_counts(db, channel)
            assert counts.get("sent", 0) + counts.get("uncertain", 0) == len(wanted), counts
            assert counts.get("uncertain", 0) <= 1, (channel, counts)
            assert {chat: n for chat, n in sent.items() if n > 1} == {}, channel  # never twice
            missing = wanted - set(sent)
            assert len(missing) <= counts.get("uncertain", 0), (channel, missing)
        assert tg.rate_limit_hits == [] and zalo.rate_limit_hits == []
        telegram_text = plain(
            next(
                c
                for c in tg.calls
                if c.method == "sendMessage" and c.params["chat_id"] in wanted_tg
            )
        )
        zalo_text = next(s.text or "" for s in zalo.sent if s.chat_id in zalo_groups)
        for text in (telegram_text, zalo_text):
            assert "Kết quả mới" in text and "2023" in text and "QĐ 123/QĐ-UBND" in text
        assert "<b>" not in zalo_text and len(zalo_text) <= 2000
