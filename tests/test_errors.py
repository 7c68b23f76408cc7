"""The error handler: the user's language, one apology, at most one admin report a minute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import bot.answers
from tests.test_telegram import Bot, plain
from tests.test_uploads import ADMIN, admin_bot

USER = 555777


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with admin_bot(tmp_path) as bot:
        yield bot


def break_years(monkeypatch: pytest.MonkeyPatch) -> None:
    real = bot.answers.Answers.to_text

    async def failing(self: bot.answers.Answers, text: str, **kw: Any) -> Any:
        if text.startswith("/nam"):
            raise RuntimeError("the store fell over")
        return await real(self, text, **kw)

    monkeypatch.setattr(bot.answers.Answers, "to_text", failing)


async def test_apology_in_the_users_language_and_one_report_a_minute(
    running: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_years(monkeypatch)
    srv = running.srv
    mark = srv.mark()
    srv.push_update(srv.message("/nam", user_id=USER, chat_id=USER, language_code="en"))
    apology = await srv.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == USER, since=mark, timeout=10
    )
    assert "Sorry" in plain(apology)
    report = await srv.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == ADMIN, since=mark, timeout=10
    )
    assert "the store fell over" in report.params["text"]
    assert "RuntimeError" in report.params["text"]
    # a second failure within the minute, another user: told in Vietnamese, and the
    # admins are not told again
    mark = srv.mark()
    srv.push_update(srv.message("/nam", user_id=USER + 1, chat_id=USER + 1))
    again = await srv.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == USER + 1, since=mark, timeout=10
    )
    assert "Xin lỗi" in plain(again)
    await srv.wait_idle(quiet=0.5)
    assert [c for c in srv.calls_since(mark, "sendMessage") if c.params["chat_id"] == ADMIN] == []
    # and the bot goes on answering
    assert "2022" in plain(await running.say("/top 1 huyen"))
