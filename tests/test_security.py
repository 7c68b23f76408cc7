"""Secrets and abuse: the token never in a log line or a reply, the webhook secret
enforced, and nobody gains an admin's power by a username or by forged button data."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import bot.answers
from bot.answers import Answers
from bot.channels.telegram.app import start_channel, stop_channel
from bot.logs import RedactingFilter, setup_logging
from bot.settings import Settings
from fakes.telegram import FakeBotAPI
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store
from tests.support.serving import serving
from tests.test_reader import to_cp1258
from tests.test_telegram import Bot, plain
from tests.test_uploads import ADMIN, OTHER, answer_of, buttons, confirm, csv_text, upload

ROOT = Path(__file__).resolve().parent.parent
# recognisable: a leak shows up as this text, whole or its secret part
TOKEN = "987654321:AAH_leak-CANARY_0123456789abcdefghijklmnop"
SECRET_PART = TOKEN.split(":", 1)[1]
ADMIN2 = 100002
NOISY_LOGGERS = ("httpx", "httpcore", "telegram", "asyncio", "aiosqlite", "tornado", "aiohttp")


def leaks(text: str) -> bool:
    return TOKEN in text or SECRET_PART in text


class Capture(logging.Handler):
    """Every record, as a handler writes it (after the redacting filter), plus every
    attribute the record still carries."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(" ".join(f"{k}={v!s}" for k, v in vars(record).items()))


@contextlib.contextmanager
def capturing_everything() -> Iterator[Capture]:
    """The production set-up (setup_logging with the token), then every logger
    at DEBUG: the worst case, httpx logging each URL."""
    root = logging.getLogger()
    capture = Capture()
    root.addHandler(capture)
    old_root = root.level
    old_levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    redacting: RedactingFilter | None = None
    try:
        redacting = setup_logging(TOKEN, level=logging.DEBUG)
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
        yield capture
    finally:
        for handler in root.handlers:
            if redacting is not None:
                handler.removeFilter(redacting)
        root.removeHandler(capture)
        root.setLevel(old_root)
        for name, level in old_levels.items():
            logging.getLogger(name).setLevel(level)


def settings_for(srv: FakeBotAPI, db: Path, **extra: Any) -> Settings:
    return Settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=srv.base_url,
        TELEGRAM_FILE_BASE_URL=srv.base_file_url,
        RANKBOT_DB=str(db),
        RANKBOT_ADMIN_IDS=f"{ADMIN},{ADMIN2}",
        **extra,
    )


# ---- the token ---------------------------------------------------------------------


async def test_token_in_no_log_record_and_no_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start, queries, buttons, an inline query, a handler that fails with the API URL
    in its error, failed sends, an admin upload (file download URL) and shutdown."""
    real_to_text = bot.answers.Answers.to_text

    async def failing(self: bot.answers.Answers, text: str, **kw: Any) -> Any:
        if text == "/nam":
            raise RuntimeError(f"POST {srv.base_url}{TOKEN}/sendMessage failed: {TOKEN}")
        return await real_to_text(self, text, **kw)

    monkeypatch.setattr(bot.answers.Answers, "to_text", failing)
    with capturing_everything() as capture:
        async with FakeBotAPI() as srv:
            async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
                running = Bot(srv, app)
                await running.say("/start")
                card = await running.say("bac ha")
                top = await running.say("/top 3 huyen 2022")
                data = top.params["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
                await running.press(top.result, data)
                await running.press(card.result, "forged:data")
                mark = srv.mark()
                srv.push_update(srv.inline_query("bac ha"))
                await srv.wait_for("answerInlineQuery", since=mark)
                # a handler raising an error that carries the token
                mark = srv.mark()
                srv.push_update(srv.message("/nam"))
                apology = await srv.wait_for("sendMessage", since=mark, timeout=10)
                assert "Xin lỗi" in plain(apology)
                # server errors on sends: a 500 retried, a 400 apologised for
                srv.fail_next("sendMessage", status=500)
                mark = srv.mark()
                srv.push_update(srv.message("/muc"))
                await srv.wait_for("sendMessage", lambda c: c.ok, since=mark, timeout=10)
                srv.fail_next("sendMessage", status=400, description="Bad Request: x")
                mark = srv.mark()
                srv.push_update(srv.message("/nhom"))
                await srv.wait_for("sendMessage", lambda c: c.ok, since=mark, timeout=10)
                srv.fail_next("getUpdates", status=502)
                await running.say("/top 1")
                # an admin upload: getFile and the download URL carry the token
                preview = await upload(running, to_cp1258(csv_text(";")), "2023.csv")
                assert "Xem trước" in plain(preview)
                assert "Đã công bố" in plain(await confirm(running, preview))
            calls = list(srv.calls)
    text = "\n".join(capture.lines)
    assert "HTTP Request" in text and "getUpdates" in text  # httpx at DEBUG was captured
    assert "<redacted>" in text  # URLs with the token were logged, and redacted
    assert "update failed" in text  # the failing handler's error was logged
    assert not leaks(text), [line for line in capture.lines if leaks(line)][:3]
    assert any(c.method == "file_download" for c in calls)
    for call in calls:  # every reply, edit, answer and menu the bot sent
        assert not leaks(json.dumps(call.params, ensure_ascii=False, default=str)), call.method
        assert not leaks(json.dumps(call.result, ensure_ascii=False, default=str)), call.method


@pytest.mark.parametrize(
    "line",
    [
        f"HTTP Request: GET http://127.0.0.1:1/file/bot{quote(TOKEN, safe='')}/documents/f.csv",
        f"Client error '404 Not Found' for url 'https://x/file/bot{quote(TOKEN)}/a'",
        f"https://api.telegram.org/bot{TOKEN.replace(':', '%3a')}/getMe",
    ],
)
def test_an_encoded_token_is_redacted_too(line: str) -> None:
    redacting = RedactingFilter((TOKEN,))
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, line, None, None)
    redacting.filter(record)
    assert not leaks(record.getMessage()), record.getMessage()


async def run_cli(env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_python_m_bot_run_with_a_rejected_or_unreachable_api(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "RANKBOT_DB": str(tmp_path / "run.sqlite3"),
    }
    async with FakeBotAPI(valid_tokens=["111111111:" + "b" * 35]) as srv:  # a revoked token
        code, output = await run_cli(
            {
                **env,
                "TELEGRAM_API_BASE_URL": srv.base_url,
                "TELEGRAM_FILE_BASE_URL": srv.base_file_url,
            }
        )
        assert TOKEN in srv.tokens_seen  # it really was sent, and refused
    assert code == 2 and "rejected TELEGRAM_BOT_TOKEN" in output, output
    assert not leaks(output), output
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, output = await run_cli(
        {
            **env,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
            "TELEGRAM_FILE_BASE_URL": f"http://127.0.0.1:{port}/file/bot",
        }
    )
    assert code == 1 and "cannot reach" in output, output
    assert not leaks(output), output


# ---- the webhook secret ------------------------------------------------------------

WEBHOOK_SECRET = "webhook_SECRET-canary_42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def webhook_bot(srv: FakeBotAPI, db: Path) -> AsyncIterator[str]:
    """The Telegram channel with RANKBOT_WEBHOOK_* set, started exactly as `python -m bot
    run` starts it (bot/service.py: `start_channel` on the running loop, on a store it
    opened); yields the local webhook URL."""
    port = free_port()
    settings = settings_for(
        srv,
        db,
        RANKBOT_WEBHOOK_URL="https://cds.example.org/",
        RANKBOT_WEBHOOK_PORT=port,
        RANKBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    store = await Store.open(db)
    try:
        catalog = load_catalog()
        await load_shipped_data(store, catalog)
        answers = Answers(Rankings(store, catalog))
        redacting = RedactingFilter((TOKEN, WEBHOOK_SECRET))
        app = await start_channel(settings, store=store, answers=answers, redacting=redacting)
        try:
            # setWebhook returned and the application started: the server listens
            assert [c.method for c in srv.calls_since(0, "setWebhook")] == ["setWebhook"]
            yield f"http://127.0.0.1:{port}/telegram"
        finally:
            await stop_channel(app)
    finally:
        await store.close()


async def post_update(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=json.dumps(update), headers=headers)
    return response.status_code


async def test_webhook_refuses_a_missing_or_wrong_secret(tmp_path: Path) -> None:
    async with FakeBotAPI() as srv, webhook_bot(srv, tmp_path / "hook.sqlite3") as url:
        mark = srv.mark()
        for update_id, secret in enumerate(
            [None, "", "wrong", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x", WEBHOOK_SECRET.upper()],
            start=1,
        ):
            update = {"update_id": update_id, **srv.message("/top 1 huyen")}
            assert await post_update(url, update, secret) == 403, secret
        await srv.wait_idle(quiet=0.5)
        assert srv.calls_since(mark, "sendMessage") == []
        update = {"update_id": 100, **srv.message("/top 1 huyen")}
        assert await post_update(url, update, WEBHOOK_SECRET) == 200
        call = await srv.wait_for("sendMessage", since=mark, timeout=10)
        assert "651,93" in plain(call)
        (set_hook,) = srv.calls_since(0, "setWebhook")
        assert set_hook.params["url"] == "https://cds.example.org/telegram"
        assert set_hook.params["secret_token"] == WEBHOOK_SECRET


async def test_webhook_secret_is_compared_in_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    monkeypatch.setattr(secrets, "compare_digest", spy)
    async with FakeBotAPI() as srv, webhook_bot(srv, tmp_path / "hook.sqlite3") as url:
        update = {"update_id": 1, **srv.message("/nam")}
        assert await post_update(url, update, "wrong-secret") == 403
    seen = {str(v if isinstance(v, str) else bytes(v).decode()) for pair in compared for v in pair}
    assert "wrong-secret" in seen


# ---- abuse: usernames and forged admin buttons -------------------------------------


@pytest.fixture
async def two_admins(tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeBotAPI() as srv:
        async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
            yield Bot(srv, app)
        assert srv.violations == []


async def test_an_admins_username_without_the_id_gains_nothing(two_admins: Bot) -> None:
    bot, srv = two_admins, two_admins.srv
    store: Store = bot.app.bot_data.store
    name = "so_tttt_laocai"
    # the real admin, known by that username, makes a preview
    await bot.say("/trogiup", user_id=ADMIN, chat_id=ADMIN, username=name)
    preview = await upload(bot, to_cp1258(csv_text(";")), "2023.csv", username=name)
    assert "Xem trước" in plain(preview)
    before = await store.scores.versions()
    files_fetched = len(srv.calls_since(0, "getFile"))
    # someone else with the same username (and the same display name)
    refused = await upload(bot, csv_text(";").encode(), "x.csv", user_id=OTHER, username=name)
    assert "chỉ dành cho quản trị viên" in plain(refused)
    assert len(srv.calls_since(0, "getFile")) == files_fetched  # not even downloaded
    for command in ("/tailen", "/lichsu", "/hoantac", f"/quantri them {OTHER}", "/mau"):
        reply = await bot.say(command, chat_id=OTHER, user_id=OTHER, username=name)
        assert "chỉ dành cho quản trị viên" in plain(reply), command
    mark = srv.mark()
    srv.push_update(
        srv.callback_query(
            buttons(preview)["✅ Xác nhận"], message=preview.result, user_id=OTHER, username=name
        )
    )
    answer = await srv.wait_for("answerCallbackQuery", since=mark)
    assert "Chỉ người đã tải tệp lên" in answer.params["text"]
    assert await store.scores.versions() == before
    assert await store.people.admin_ids() == set()
    action_id = buttons(preview)["✅ Xác nhận"].split(":")[1]
    pending = await store.people.pending(action_id)
    assert pending is not None and pending.state == "pending"
    assert "refused" in {a for _, a, _ in await store.people.audit_entries()}


async def test_forged_admin_button_data_gains_nothing(two_admins: Bot) -> None:
    bot = two_admins
    store: Store = bot.app.bot_data.store
    preview = await upload(bot, to_cp1258(csv_text(";")), "2023.csv")
    ok = buttons(preview)["✅ Xác nhận"]
    action_id = ok.split(":")[1]
    undo = await bot.say("/hoantac", user_id=ADMIN2, chat_id=ADMIN2)
    undo_id = buttons(undo)["✅ Xác nhận"].split(":")[1]
    before = await store.scores.versions()
    refusals = {
        "callback.stale": "cũ hoặc không hợp lệ",
        "not_your_button": "Chỉ người đã tải tệp lên",
    }
    cases = [
        # made-up ids, malformed data, injection attempts: stale
        (ADMIN, "a:AAAAAAAAAAAA:ok", "callback.stale"),
        (ADMIN, f"a:{action_id}:OK", "callback.stale"),
        (ADMIN, f"a:{action_id}:yes", "callback.stale"),
        (ADMIN, f"a:{action_id}:ok:extra", "callback.stale"),
        (ADMIN, f"a:{action_id}", "callback.stale"),
        (ADMIN, "a::ok", "callback.stale"),
        (ADMIN, "a:' OR '1'='1:ok", "callback.stale"),
        (ADMIN, "a:%:ok", "callback.stale"),
        # someone else's real id: another admin, a plain user, the anonymous admin
        (ADMIN2, f"a:{action_id}:ok", "not_your_button"),
        (ADMIN2, f"a:{action_id}:same", "not_your_button"),
        (ADMIN2, f"a:{action_id}:no", "not_your_button"),
        (OTHER, f"a:{action_id}:ok", "not_your_button"),
        (1087968824, f"a:{action_id}:ok", "not_your_button"),
        (777000, f"a:{action_id}:ok", "not_your_button"),
        (ADMIN, f"a:{undo_id}:ok", "not_your_button"),  # the other admin's undo
        (OTHER, f"a:{undo_id}:ok", "not_your_button"),
    ]
    for user_id, data, expected in cases:
        answer = await answer_of(bot, data, preview.result, user_id=user_id)
        assert refusals[expected] in answer.params["text"], (user_id, data, answer.params)
        await bot.srv.wait_idle(quiet=0.05)
    assert await store.scores.versions() == before
    for pending_id in (action_id, undo_id):
        pending = await store.people.pending(pending_id)
        assert pending is not None and pending.state == "pending", pending_id
    # the real owner's press still works afterwards: nothing was used up
    assert "Đã công bố" in plain(await confirm(bot, preview))
