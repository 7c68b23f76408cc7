"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

Why a real HTTP server instead of a fake ``BaseRequest``: the bot under test is the real PTB
``Application`` with its real ``HTTPXRequest``, ``Updater`` (long polling), rate limiter and
error handling. Only ``ApplicationBuilder().base_url(srv.base_url).base_file_url(
srv.base_file_url)`` differs from production, so tests exercise PTB's parameter encoding, its
error mapping (``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``, ``TimedOut``) and
its polling loop exactly as they run against Telegram.

Why it validates: a fake that accepts everything hides the bugs that only show up in
production (malformed HTML, 4096-character overflows, 65-byte ``callback_data``, "message is not
modified" on pagination, flood limits). Validation follows Telegram's server (tdlib's
``parse_html`` and the Bot API's error texts) and is, where noted, deliberately a little
stricter than Telegram so that a bot which passes here is safe there.

The modules, by concern:

- :mod:`~fakes.telegram.html`: the HTML parse mode and text entities (``parse_html``);
- :mod:`~fakes.telegram.checks`: what Telegram refuses in a sent message, and its limits;
- :mod:`~fakes.telegram.state`: chats, users, messages, files, and the records tests read;
- :mod:`~fakes.telegram.methods`: the Bot API methods the bot calls;
- :mod:`~fakes.telegram.updates`: update injection (acting as a user) and getUpdates;
- :mod:`~fakes.telegram.wire`: how PTB encodes parameters;
- :mod:`~fakes.telegram.server`: the HTTP server, fault injection, flood limits, waiting;
- :mod:`~fakes.telegram.control`: the control API of the standalone server.

Typical use::

    async with FakeBotAPI() as srv:
        app = (ApplicationBuilder().token(TOKEN).base_url(srv.base_url)
               .base_file_url(srv.base_file_url).build())
        ...
        srv.push_update(srv.message("/start"))
        call = await srv.wait_for("sendMessage", lambda c: c.params["chat_id"] == USER_ID)

Standalone (for a person or a script driving ``python -m bot run``)::

    python -m fakes.telegram --port 8081 [--enforce-limits]
"""

from fakes.telegram.checks import ApiError
from fakes.telegram.html import HtmlParseError, parse_html, utf16_len
from fakes.telegram.server import FakeBotAPI
from fakes.telegram.state import (
    DEFAULT_BOT_ID,
    DEFAULT_GROUP_ID,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_USER_ID,
    Call,
    RateLimitHit,
    StoredFile,
)
from fakes.telegram.wire import decode_param

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_GROUP_ID",
    "DEFAULT_SUPERGROUP_ID",
    "DEFAULT_USER_ID",
    "ApiError",
    "Call",
    "FakeBotAPI",
    "HtmlParseError",
    "RateLimitHit",
    "StoredFile",
    "decode_param",
    "parse_html",
    "utf16_len",
]
