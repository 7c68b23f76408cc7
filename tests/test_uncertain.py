"""A send Telegram carried out but whose answer was lost is never sent twice (issue #18).

The fake Bot API carries the request out (the message is in the chat) and then closes
the connection without an answer, answers a proxy's 502 page, or a 200 that is not
JSON (`FakeBotAPI.fail_after`). The outbox marks such a delivery uncertain and does not
resend it; an ordinary reply is not resent either (only the apology follows it); both
show in /trangthai. A request that never left (connection refused) is sent again.
"""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram import announce
from fakes.telegram import FakeBotAPI
from fakes.telegram.server import AfterFault
from tests.test_announce import ADMIN, CDS_2022, OWNER, started, store_of, until_done
from tests.test_telegram import Bot, plain

HOW: list[AfterFault] = ["disconnect", "502", "garbage"]
GROUPS = [-400008001, -400008002, -400008003]
# what the bot saw: the fault really is the one named
SEEN = {
    "disconnect": "RemoteProtocolError",
    "502": "Bad Gateway",
    "garbage": "Invalid server response",
}


def performed(bot: Bot, since: int, chat_ids: list[int]) -> Counter[int]:
    """Messages the fake carried out to `chat_ids`, per chat, whatever it answered."""
    return Counter(
        int(c.params["chat_id"])
        for c in bot.srv.calls_since(since, "sendMessage")
        if c.performed and int(c.params["chat_id"]) in chat_ids
    )


@pytest.mark.parametrize("how", HOW)
async def test_an_announcement_carried_out_without_an_answer_is_uncertain_not_resent(
    tmp_path: Path, how: AfterFault
) -> None:
    async with FakeBotAPI() as srv, started(srv, tmp_path / "u.db") as bot:
        store = store_of(bot)
        for chat_id in GROUPS:
            await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
        srv.fail_after("sendMessage", how)  # the first group's send
        mark = srv.mark()
        announcement_id = await announce.announce_version(bot.app, CDS_2022, ADMIN)
        assert announcement_id is not None
        assert await until_done(bot, announcement_id) == {"sent": 2, "uncertain": 1}
        await srv.wait_idle(quiet=0.5)  # no second copy follows
        assert performed(bot, mark, GROUPS) == Counter(GROUPS)  # each group got it, once
        answered = [
            c for c in srv.calls_since(mark, "sendMessage") if c.params["chat_id"] in GROUPS
        ]
        assert len(answered) == len(GROUPS)  # not one request more
        (row,) = await store._db.rows(
            "SELECT last_error FROM deliveries WHERE state = 'uncertain'"
        )
        assert SEEN[how] in row["last_error"], row["last_error"]
        status = plain(await bot.say("/trangthai", user_id=ADMIN))
        assert "Chưa rõ: 1" in status and "Đã gửi: 2" in status, status
        assert srv.violations == []


@pytest.mark.parametrize("how", HOW)
async def test_a_reply_carried_out_without_an_answer_is_not_resent(
    tmp_path: Path, how: AfterFault
) -> None:
    async with FakeBotAPI() as srv, started(srv, tmp_path / "r.db") as bot:
        srv.fail_after("sendMessage", how)
        mark = srv.mark()
        srv.push_update(srv.message("/nam", user_id=ADMIN))
        await srv.wait_for("sendMessage", lambda c: "Xin lỗi" in c.params["text"], since=mark)
        await srv.wait_idle(quiet=0.5)
        sends = srv.calls_since(mark, "sendMessage")
        # the answer, carried out once, never resent; only the apology follows it
        answers = [c for c in sends if "Xin lỗi" not in c.params["text"]]
        assert len(answers) == 1 and answers[0].performed, [c.summary() for c in sends]
        assert "2022" in plain(answers[0])
        assert len(sends) == 2, [c.summary() for c in sends]
        status = plain(await bot.say("/trangthai", user_id=ADMIN))
        assert "không gửi lại): 1" in status, status


async def test_a_reply_that_never_left_is_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the rule: a refused connection proves nothing was sent."""
    async with FakeBotAPI() as srv, started(srv, tmp_path / "n.db") as bot:
        # a port nothing listens on: connecting is refused before a byte is written
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        request = bot.app.bot.request
        real_base = bot.app.bot.base_url
        refused = {"left": 1}
        original = request.do_request

        async def first_refused(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            if "sendMessage" in url and refused["left"]:
                refused["left"] -= 1
                url = url.replace(real_base, f"http://127.0.0.1:{closed}/bot{bot.app.bot.token}")
            answer: tuple[int, bytes] = await original(url, *args, **kwargs)
            return answer

        monkeypatch.setattr(request, "do_request", first_refused)
        mark = srv.mark()
        reply = await bot.say("/nam")
        assert refused["left"] == 0  # the first try went to the closed port
        assert "2022" in plain(reply)
        await srv.wait_idle(quiet=0.3)
        assert len(srv.calls_since(mark, "sendMessage")) == 1
