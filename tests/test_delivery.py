"""The one rule for "did it reach Telegram?" (bot/channels/telegram/delivery.py)."""

from __future__ import annotations

import httpx
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut

from bot.channels.telegram.delivery import Outcome, outcome, send_with_retry


def caused(exc: TelegramError, cause: BaseException) -> TelegramError:
    exc.__cause__ = cause
    return exc


REQUEST = httpx.Request("POST", "http://127.0.0.1/bot/sendMessage")

CASES = [
    # never left this machine: safe to send again
    (caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")), "never_sent"),
    (caused(TimedOut(), httpx.ConnectTimeout("connect")), "never_sent"),
    (caused(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")), "never_sent"),
    # written, no clear answer: may have been delivered
    (caused(TimedOut(), httpx.ReadTimeout("read")), "uncertain"),
    (
        caused(
            NetworkError("httpx.RemoteProtocolError"),
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
        ),
        "uncertain",
    ),
    (NetworkError("Bad Gateway"), "uncertain"),  # a 502 answer
    (NetworkError("Internal Server Error (500)"), "uncertain"),
    (TelegramError("Invalid server response"), "uncertain"),  # a 200 with garbage
    # Telegram said no: the same request fails again
    (BadRequest("message is too long"), "refused"),
    (Forbidden("bot was blocked by the user"), "refused"),
]


@pytest.mark.parametrize(("error", "expected"), CASES)
def test_outcome(error: TelegramError, expected: str) -> None:
    assert outcome(error) is Outcome(expected)


@pytest.mark.parametrize(("error", "expected"), CASES)
async def test_only_a_request_that_never_left_is_sent_again(
    error: TelegramError, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.channels.telegram.delivery.FIRST_DELAY", 0)
    calls = 0

    async def send() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        return "sent"

    if expected == "never_sent":
        assert await send_with_retry(send) == "sent"
        assert calls == 2
    else:
        with pytest.raises(TelegramError):
            await send_with_retry(send)
        assert calls == 1


async def test_gives_up_after_the_last_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.channels.telegram.delivery.FIRST_DELAY", 0)
    calls = 0

    async def send() -> None:
        nonlocal calls
        calls += 1
        raise caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused"))

    with pytest.raises(NetworkError):
        await send_with_retry(send, attempts=3)
    assert calls == 3
