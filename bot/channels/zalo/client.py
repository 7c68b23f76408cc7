"""A thin async client for Zalo's Bot API (bot.zaloplatforms.com), on httpx and pydantic.

Why not the python-zalo-bot SDK: its webhook calls are synchronous wrappers around
``asyncio.run`` (unusable inside a running bot), a non-2xx answer is mapped but an
``"ok": false`` inside a 200 comes back as ``None``, its start-up error prints the token,
and its polling loop sleeps a second after every empty poll. The API is eight
JSON-over-POST methods, so a client we can read end to end costs less than patching
one. docs/zalo.md has the evaluation and the platform's limits with their sources.

What the API looks like (docs/zalo.md, "Sources"): every method is
``POST {base}/bot<TOKEN>/<method>`` with a JSON body; the answer is
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": N, "description": …}``.
``getUpdates`` long-polls and returns *one* update (not a list, no ``update_id``, no
offset): the platform hands each update out once, so one whose answer is lost in transit
is gone. An empty poll ends with error 408 ("Request timeout"), which
:meth:`ZaloBotClient.get_updates` turns into an empty list.

Errors, for the outbox (``outcome`` on each class):

* :class:`Unreachable` ("never_sent"): the request provably never left this machine
  (connection refused, DNS, connect timeout, no free pooled connection): safe to send again.
* :class:`Uncertain` ("uncertain"): it was written but no clear answer came back (read
  timeout, disconnect without an answer, a 5xx or 403 "internal server error", a body
  that is not the API's JSON): Zalo may have delivered it, so it is never sent again.
* :class:`RateLimited`, :class:`Forbidden`, :class:`BadRequest`, :class:`InvalidToken`
  ("refused"): Zalo answered no; the same request would fail the same way (a rate limit
  after a pause).

The token is in every URL. It never reaches an exception (messages are built here, and
raised outside the ``except`` that caught httpx's, so no chained exception carries the
request), a ``repr``, or httpx's INFO "HTTP Request: POST …" line (a filter on the
``httpx`` logger rewrites it while a client is open).
"""

from __future__ import annotations

import datetime as dtm
import hmac
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from types import TracebackType
from typing import Any, ClassVar, Final, Literal, Self, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "SECRET_HEADER",
    "TOKEN_ENV",
    "BadRequest",
    "BotInfo",
    "Chat",
    "ChatType",
    "EventName",
    "Forbidden",
    "InvalidToken",
    "Message",
    "RateLimited",
    "Sender",
    "SentMessage",
    "Uncertain",
    "Unreachable",
    "Update",
    "WebhookInfo",
    "ZaloBotClient",
    "ZaloError",
    "looks_like_token",
    "parse_webhook_update",
    "secret_matches",
]

#: The part of a method URL before the token, like TELEGRAM_API_BASE_URL's default.
DEFAULT_BASE_URL: Final = "https://bot-api.zaloplatforms.com/bot"
BASE_URL_ENV: Final = "ZALO_API_BASE_URL"
TOKEN_ENV: Final = "ZALO_BOT_TOKEN"
#: sendMessage's ``text`` and sendPhoto's ``caption``: "from 1 to 2000 characters". Which
#: characters Zalo counts is not documented; count UTF-16 code units to be safe.
MAX_TEXT_LENGTH: Final = 2000
MAX_CAPTION_LENGTH: Final = 2000
#: setWebhook's ``secret_token``: 8 to 256 characters, sent back in this header.
SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"
SECRET_MIN_LENGTH: Final = 8
SECRET_MAX_LENGTH: Final = 256

REDACTED: Final = "<redacted>"
M = TypeVar("M", bound="_Model")
_DESCRIPTION_CHARS = 300  # of the platform's description kept in an error message
# "<bot_id>:<secret>"; the secret's alphabet is not documented, so only what would break
# the URL path (or cannot be a token at all) is refused
_TOKEN_RE: Final = re.compile(r"\d+:[^\s/?#%]+")


# ---- errors ------------------------------------------------------------------------------


class ZaloError(Exception):
    """A Bot API call that did not succeed. ``str()`` never contains the token.

    ``outcome`` tells the outbox what the failure says about the message: "never_sent"
    (send again), "uncertain" (never send again) or "refused" (Zalo said no).
    """

    outcome: ClassVar[Literal["never_sent", "uncertain", "refused"]] = "uncertain"

    def __init__(
        self,
        method: str,
        detail: str,
        *,
        error_code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        self.method = method
        self.detail = detail
        self.error_code = error_code
        self.http_status = http_status
        super().__init__(f"{method}: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        # the default would call cls(message) and fail on the keyword-only fields
        return (
            _rebuild_error,
            (type(self), self.method, self.detail, self.error_code, self.http_status),
        )


def _rebuild_error(
    cls: type[ZaloError], method: str, detail: str, error_code: int | None, status: int | None
) -> ZaloError:
    return cls(method, detail, error_code=error_code, http_status=status)


class Unreachable(ZaloError):
    """The request never left this machine: sending it again cannot duplicate anything."""

    outcome = "never_sent"


class Uncertain(ZaloError):
    """The request went out but no clear answer came back: Zalo may have carried it out.

    Never send it again (an official would get the announcement twice); record it as
    uncertain instead.
    """

    outcome = "uncertain"


class RateLimited(ZaloError):
    """429 "Quota exceeded": refused, so nothing was sent; wait before the next send.

    ``retry_after`` (seconds) is None when Zalo gave no hint, which is what its docs
    describe: the caller picks its own pause. The quota may also be a monthly one
    (docs/zalo.md), so a caller should give up after a few pauses rather than loop.
    """

    outcome = "refused"

    def __init__(
        self,
        method: str,
        detail: str,
        *,
        retry_after: float | None = None,
        error_code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(method, detail, error_code=error_code, http_status=http_status)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_rate_limited,
            (self.method, self.detail, self.retry_after, self.error_code, self.http_status),
        )


def _rebuild_rate_limited(
    method: str, detail: str, retry_after: float | None, error_code: int | None, status: int | None
) -> RateLimited:
    return RateLimited(
        method, detail, retry_after=retry_after, error_code=error_code, http_status=status
    )


class Forbidden(ZaloError):
    """The chat cannot be reached: the user blocked the bot, the bot was removed from the
    group, or the chat is gone. Stop sending to it (unsubscribe a group).

    Zalo documents no error for these cases; its error table's 404 ("Not found – the
    access request is not valid") is the row they fall under, so a 404 to a send method
    lands here (inference, docs/zalo.md).
    """

    outcome = "refused"


class BadRequest(ZaloError):
    """400 (or another 4xx): the request itself is wrong (a text over 2000 characters, an
    unknown action, getUpdates while a webhook is set…); the same request fails again."""

    outcome = "refused"


class InvalidToken(ZaloError):
    """401: the token is wrong, revoked or expired (reset in Zalo Bot Creator), or it is
    not of the form ``<bot_id>:<secret>`` at all."""

    outcome = "refused"


# ---- models ------------------------------------------------------------------------------


class _Model(BaseModel):
    # extra="allow": the platform adds fields without notice (docs show two shapes of
    # "from"); keep them rather than fail an update that was already handed out.
    # coerce_numbers_to_str: ids are strings in the docs; accept a number all the same.
    model_config = ConfigDict(
        frozen=True, extra="allow", coerce_numbers_to_str=True, populate_by_name=True
    )


class EventName(StrEnum):
    """``event_name`` values the docs list (webhook page). Others may appear; an
    :class:`Update` keeps any string."""

    TEXT = "message.text.received"
    IMAGE = "message.image.received"
    STICKER = "message.sticker.received"
    #: a message Zalo will not pass on, e.g. from a protected account (children, …)
    UNSUPPORTED = "message.unsupported.received"


class ChatType(StrEnum):
    PRIVATE = "PRIVATE"
    #: documented as "coming soon"; in a group the bot only receives messages that
    #: @mention it or reply to one of its messages (docs/zalo.md)
    GROUP = "GROUP"


class BotInfo(_Model):
    """getMe's result."""

    id: str
    account_name: str | None = None
    account_type: str | None = None
    can_join_groups: bool | None = None


class Sender(_Model):
    """``message.from``: the webhook sample has ``display_name`` and ``is_bot``, the
    getUpdates sample ``first_name``; either may come."""

    id: str
    display_name: str | None = None
    first_name: str | None = None
    is_bot: bool = False

    @property
    def name(self) -> str:
        return self.display_name or self.first_name or ""


class Chat(_Model):
    id: str
    chat_type: str = ChatType.PRIVATE

    @property
    def is_group(self) -> bool:
        return self.chat_type == ChatType.GROUP

    @property
    def is_private(self) -> bool:
        return self.chat_type == ChatType.PRIVATE


class Message(_Model):
    message_id: str
    sender: Sender = Field(alias="from")
    chat: Chat
    #: milliseconds since the epoch (the docs' samples: 1750316131602)
    date: int | None = None
    text: str | None = None
    #: message.image.received: the picture's URL, and its caption
    photo: str | None = None
    caption: str | None = None
    #: message.sticker.received: the sticker's id and its picture's URL
    sticker: str | None = None
    url: str | None = None

    @property
    def sent_at(self) -> dtm.datetime | None:
        if self.date is None:
            return None
        return dtm.datetime.fromtimestamp(self.date / 1000, tz=dtm.UTC)


class Update(_Model):
    """One event, from getUpdates or a webhook."""

    event_name: str
    message: Message | None = None

    @property
    def text(self) -> str | None:
        """The text of a text message (None for anything else)."""
        if self.event_name != EventName.TEXT or self.message is None:
            return None
        return self.message.text


class SentMessage(_Model):
    """sendMessage / sendPhoto / sendSticker's result."""

    message_id: str
    date: int | None = None


class WebhookInfo(_Model):
    """setWebhook / deleteWebhook / getWebhookInfo's result (``url`` is "" when none)."""

    url: str = ""
    updated_at: int | None = None


def parse_update(data: object) -> Update:
    """An update's JSON object as an :class:`Update`; ValueError if it is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("event_name"), str):
        raise ValueError("not a Zalo update: no event_name")
    try:
        return Update.model_validate(data)
    except ValidationError as exc:
        # the fields that failed, not their values (a message text is the user's)
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ValueError(f"not a Zalo update: unexpected {where}") from None


def parse_webhook_update(body: bytes | str | Mapping[str, Any]) -> Update:
    """The update in a webhook request's body.

    The docs' sample wraps it as ``{"ok": true, "result": {…}}``; OpenClaw's client
    reports bare updates (``{"event_name": …}``) too, so both are accepted.
    Check :func:`secret_matches` first. ValueError if the body is not an update.
    """
    data: object = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except ValueError:
            raise ValueError("not a Zalo update: the body is not JSON") from None
    if isinstance(data, Mapping) and data.get("ok") is True and "result" in data:
        data = data["result"]
    return parse_update(data)


def looks_like_token(token: str) -> bool:
    """Whether `token` has a bot token's form, ``<bot_id>:<secret>`` (whether Zalo
    accepts it, only getMe tells)."""
    return bool(_TOKEN_RE.fullmatch(token or ""))


def secret_matches(received: str | None, expected: str) -> bool:
    """Whether a webhook request's ``X-Bot-Api-Secret-Token`` header is our secret,
    compared in constant time (a timing difference must not reveal it bit by bit)."""
    if received is None or not expected:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


# ---- the client --------------------------------------------------------------------------

# httpx errors raised before a byte of the request was written (as in the Telegram
# channel's delivery rule); an unusable URL never gets that far either.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
_SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})


class _RedactToken(logging.Filter):
    """Rewrites httpx's "HTTP Request: POST …/bot<TOKEN>/sendMessage" records."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        return True


class ZaloBotClient:
    """The Bot API's methods as coroutines. Use ``async with`` (or :meth:`aclose`).

    ``base_url`` is everything before the token (``ZALO_API_BASE_URL``; default Zalo's,
    ``http://127.0.0.1:PORT/bot`` for the fake server). ``timeout`` bounds one request's
    read; getUpdates waits its long poll plus ``poll_headroom`` and sendPhoto
    ``photo_timeout``, since Zalo fetches the picture before it answers.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        pool_timeout: float = 5.0,
        poll_headroom: float = 10.0,
        photo_timeout: float = 60.0,
        max_connections: int = 20,
    ) -> None:
        if not looks_like_token(token):
            # never the token itself in the message: it may be a real one pasted wrongly
            raise InvalidToken("init", "the bot token is not of the form <bot_id>:<secret>")
        self._token = token
        self._base_url = _checked_base_url(base_url)
        self._poll_headroom = poll_headroom
        self._photo_timeout = photo_timeout
        _, _, secret = token.partition(":")
        variants = {token, quote(token, safe=""), quote(token, safe=":")}
        if len(secret) >= 8:  # the secret part alone survives any encoding of the ":"
            variants.add(secret)
        self._secrets = tuple(sorted(variants, key=len, reverse=True))
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=pool_timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"Accept": "application/json"},
        )
        self._log_filter = _RedactToken(self._redact)
        logging.getLogger("httpx").addFilter(self._log_filter)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Self:
        """A client from ZALO_BOT_TOKEN and ZALO_API_BASE_URL (optional)."""
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "").strip()
        base_url = env.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
        return cls(token, base_url=base_url, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        logging.getLogger("httpx").removeFilter(self._log_filter)

    # ---- methods ---------------------------------------------------------------------

    async def get_me(self) -> BotInfo:
        """The bot's id and account name; InvalidToken if the token is refused."""
        return self._model("getMe", BotInfo, await self._call("getMe", {}))

    async def get_updates(self, timeout: int = 30) -> list[Update]:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for the next update.

        Zalo returns at most one per call (a list is accepted too, so none would be
        dropped if that changed) and [] when the poll ends empty. There is no offset to
        acknowledge with: Zalo counts an update as delivered once it answers, so the
        caller must not lose what this returns. Fails with BadRequest while a webhook
        is set (deleteWebhook first).
        """
        if timeout < 0:
            raise ValueError("timeout must be 0 or more seconds")
        try:
            result = await self._call(
                "getUpdates",
                # the docs type it as a string of seconds
                {"timeout": str(timeout)},
                read_timeout=timeout + self._poll_headroom,
            )
        except Uncertain as exc:
            if exc.error_code == 408:  # the long poll ended without an update
                return []
            raise
        items = result if isinstance(result, list) else [result]
        updates: list[Update] = []
        for item in items:
            if not item:  # {"ok": true} or "result": {} with nothing in it
                continue
            try:
                updates.append(parse_update(item))
            except ValueError as exc:
                # already handed out by Zalo, so it is lost either way: say so loudly
                detail = f"an update that could not be read ({exc})"
                raise Uncertain("getUpdates", detail) from None
        return updates

    async def set_webhook(self, url: str, secret_token: str) -> WebhookInfo:
        """Have Zalo POST updates to ``url`` (HTTPS) with ``secret_token`` in the
        X-Bot-Api-Secret-Token header; getUpdates stops working until deleteWebhook."""
        if not SECRET_MIN_LENGTH <= len(secret_token) <= SECRET_MAX_LENGTH:
            raise ValueError(
                f"the webhook secret must be {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} characters"
            )
        result = await self._call("setWebhook", {"url": url, "secret_token": secret_token})
        return self._model("setWebhook", WebhookInfo, result)

    async def delete_webhook(self) -> WebhookInfo:
        return self._model("deleteWebhook", WebhookInfo, await self._call("deleteWebhook", {}))

    async def get_webhook_info(self) -> WebhookInfo:
        result = await self._call("getWebhookInfo", {})
        return self._model("getWebhookInfo", WebhookInfo, result)

    async def send_message(self, chat_id: str, text: str) -> SentMessage:
        """Plain text, 1 to 2000 characters (MAX_TEXT_LENGTH; split longer replies)."""
        result = await self._call("sendMessage", {"chat_id": str(chat_id), "text": text})
        return self._model("sendMessage", SentMessage, result)

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None
    ) -> SentMessage:
        """A picture by URL: Zalo downloads it, so it must be reachable from the internet
        (there is no upload). ``caption``: 1 to 2000 characters, or None."""
        params: dict[str, Any] = {"chat_id": str(chat_id), "photo": photo_url}
        if caption:
            params["caption"] = caption
        result = await self._call("sendPhoto", params, read_timeout=self._photo_timeout)
        return self._model("sendPhoto", SentMessage, result)

    async def send_chat_action(
        self, chat_id: str, action: Literal["typing", "upload_photo"] = "typing"
    ) -> None:
        """Show "typing…" for a moment ("upload_photo" is announced as coming soon)."""
        await self._call("sendChatAction", {"chat_id": str(chat_id), "action": action})

    # ---- transport -------------------------------------------------------------------

    async def _call(
        self, method: str, params: dict[str, Any], *, read_timeout: float | None = None
    ) -> Any:
        url = f"{self._base_url}{self._token}/{method}"
        timeout: httpx.Timeout | None = None
        if read_timeout is not None:
            base = self._http.timeout
            timeout = httpx.Timeout(
                read_timeout, connect=base.connect, pool=base.pool, write=base.write
            )
        failure: ZaloError | None = None
        try:
            if timeout is None:
                response = await self._http.post(url, json=params)
            else:
                response = await self._http.post(url, json=params, timeout=timeout)
        except _NEVER_SENT as exc:
            failure = Unreachable(method, self._describe(exc))
        except httpx.TransportError as exc:
            # read/write timeouts, "Server disconnected without sending a response", …
            failure = Uncertain(method, self._describe(exc))
        if failure is not None:
            # raised here, outside the except: no __context__ holding httpx's request (URL)
            raise failure
        return self._result(method, response)

    def _result(self, method: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("ok"), bool):
            if status == 429:  # a gateway's own rate limit: refused all the same
                raise RateLimited(
                    method,
                    "HTTP 429 Too Many Requests",
                    retry_after=_retry_after(response, None),
                    http_status=status,
                )
            # a proxy's error page, an empty or cut body: Zalo may have acted on it
            raise Uncertain(
                method, f"HTTP {status}: the answer is not the Bot API's JSON", http_status=status
            )
        if payload["ok"]:
            return payload.get("result")
        code = _int_or_none(payload.get("error_code"))
        description = self._redact(str(payload.get("description") or ""))[:_DESCRIPTION_CHARS]
        raise self._error(method, code, description, response, payload)

    def _error(
        self,
        method: str,
        code: int | None,
        description: str,
        response: httpx.Response,
        payload: Mapping[str, Any],
    ) -> ZaloError:
        """The platform's error table (docs/zalo.md, "Errors") as exception classes."""
        detail = f"error {code}: {description or 'no description'}"
        kwargs: dict[str, Any] = {"error_code": code, "http_status": response.status_code}
        if code is None:  # "ok": false without a code: no telling what happened
            return Uncertain(method, detail, **kwargs)
        if code == 400:  # "Bad request": wrong path or method name, bad parameters
            return BadRequest(method, detail, **kwargs)
        if code == 401:  # "Unauthorized": the token expired or is not valid
            return InvalidToken(method, detail, **kwargs)
        if code == 404:  # "Not found – invalid access request"
            if method in _SEND_METHODS:  # the chat is out of reach (inference)
                return Forbidden(method, detail, **kwargs)
            return BadRequest(method, detail, **kwargs)
        if code == 429:  # "Quota exceeded"
            parameters = payload.get("parameters")
            hint = parameters.get("retry_after") if isinstance(parameters, Mapping) else None
            return RateLimited(method, detail, retry_after=_retry_after(response, hint), **kwargs)
        if code in (403, 408) or code >= 500:
            # Zalo's table calls 403 "Internal server error" and 408 "Request timeout":
            # either way the request may have been carried out
            return Uncertain(method, detail, **kwargs)
        if 400 <= code < 500:
            return BadRequest(method, detail, **kwargs)
        return Uncertain(method, detail, **kwargs)

    def _model(self, method: str, model: type[M], result: Any) -> M:
        try:
            return model.model_validate(result)
        except ValidationError:
            # the call went through (Zalo said ok) but its answer is not the documented one
            raise Uncertain(method, f"the result is not a {model.__name__}") from None

    def _describe(self, exc: Exception) -> str:
        text = self._redact(str(exc))
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def _checked_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{BASE_URL_ENV} must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{BASE_URL_ENV} must not have a query string or fragment")
    return base_url


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,6}", value.strip()):
        return int(value)
    return None


def _retry_after(response: httpx.Response, hint: object) -> float | None:
    """Seconds to wait: a ``parameters.retry_after`` (Telegram's way) or a Retry-After
    header, if either ever comes; Zalo documents neither."""
    for value in (hint, response.headers.get("Retry-After")):
        if isinstance(value, bool) or value is None:
            continue
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 0 <= seconds <= 86_400:
            return seconds
    return None
