"""A fake Zalo Bot API server on 127.0.0.1, written from the platform's documentation.

Why a real HTTP server: the client under test then does its real encoding, timeouts and
error mapping over a real socket, and faults (a dropped connection, a 502 from a proxy, a
body cut short) happen where they happen in production. Why it validates: a fake that
accepts everything hides the bugs that only show up in production (a 2001-character
reply, a short webhook secret, a send to a group the bot was removed from).

What follows the docs (bot.zaloplatforms.com/docs; docs/zalo.md cites each page):
``/bot<TOKEN>/<method>`` with case-sensitive method names, GET or POST with parameters in
the query string, a JSON body, a form or multipart; the envelope ``{"ok": true,
"result": …}`` / ``{"ok": false, "error_code": N, "description": …}`` with the error
table's codes (400 bad request or unknown method, 401 bad token, 404 not found, 408
request timeout, 429 quota exceeded); getUpdates returning *one* update per call and
error 408 when its long poll ends empty; setWebhook requiring an HTTPS url and an 8–256
character secret that comes back in the ``X-Bot-Api-Secret-Token`` header of each
delivery, wrapped ``{"ok": true, "result": update}``; getUpdates refused while a webhook
is set; texts and captions of 1 to 2000 characters; chat actions ``typing`` and
``upload_photo``; in groups, only messages that @mention the bot or reply to it reach it.

What the docs leave open, decided here (docs/zalo.md lists these as assumptions):

* Characters are counted as UTF-16 code units (stricter than code points, so a reply
  that fits here fits there whichever Zalo counts).
* A send to a chat the bot cannot reach (blocked by the user, removed from the group)
  answers 404 "Not found"; Zalo documents no code for it.
* getUpdates while a webhook is set answers 400.
* Rate limits (``enforce_limits``): at most ``per_second`` sends in any second and
  ``per_chat_per_minute`` to one chat in any minute, else 429 "Quota exceeded", with no
  retry hint unless ``retry_after_header`` (the docs give no numbers and no hint).
* Errors come with HTTP 200 by default (``error_http_status="200"``), which is what
  OpenClaw's client needs to see its 408 as "no update"; ``"mirror"`` answers with the
  error code as the HTTP status instead, so a client can be tested against both.
* A webhook delivery is tried once; a failure is recorded, not retried.
* A mention shows in the text as ``@<bot name>`` at the start (how Zalo renders it is
  not documented).
* An update is handed out once: if its answer is lost, it is gone (there is no offset).
* ``http://`` webhooks are allowed on loopback hosts, so tests need no TLS.

Typical use::

    async with FakeZaloBotAPI() as srv:
        client = ZaloBotClient(DEFAULT_TOKEN, base_url=srv.base_url)
        srv.user_sends_text("bac ha")
        [update] = await client.get_updates(timeout=5)
        await client.send_message(update.message.chat.id, "…")
        call = await srv.wait_for("sendMessage")

Standalone: ``python -m fakes.zalo --port 8082`` (see ``fakes/zalo/__main__.py``), with a
small control API under ``/_control/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_GROUP_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "EVENT_IMAGE",
    "EVENT_STICKER",
    "EVENT_TEXT",
    "EVENT_UNSUPPORTED",
    "MAX_TEXT_LENGTH",
    "SECRET_HEADER",
    "Call",
    "FakeZaloBotAPI",
    "Hold",
    "RateLimitHit",
    "Sent",
    "WebhookDelivery",
    "utf16_len",
]

_LOG = logging.getLogger(__name__)

JSON = dict[str, Any]
Params = dict[str, Any]

# Ids have the docs' shapes: a numeric bot id, 20 hex digits for users and chats.
DEFAULT_BOT_ID: Final = "1459232241454765289"
DEFAULT_TOKEN: Final = "1459232241454765289:FakeZaloBotTokenForTestsOnlyNotARealOne"
DEFAULT_USER_ID: Final = "e4ea2cd5189df1c3a88c"
DEFAULT_GROUP_ID: Final = "7a1c0e5b9d3f2a4c6e80"
DEFAULT_USER_NAME: Final = "Nguyễn Văn A"
#: bot names must start with "Bot" (Zalo Bot Creator)
DEFAULT_BOT_NAME: Final = "Bot Xếp hạng CĐS"

EVENT_TEXT: Final = "message.text.received"
EVENT_IMAGE: Final = "message.image.received"
EVENT_STICKER: Final = "message.sticker.received"
EVENT_UNSUPPORTED: Final = "message.unsupported.received"

MAX_TEXT_LENGTH: Final = 2000
SECRET_HEADER: Final = "X-Bot-Api-Secret-Token"
SECRET_LENGTHS: Final = range(8, 257)
CHAT_ACTIONS: Final = frozenset({"typing", "upload_photo"})
SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})

#: the error table's meanings, used as descriptions (Zalo's exact texts are not documented)
ERROR_TEXTS: Final[dict[int, str]] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Internal server error",
    404: "Not found",
    408: "Request timeout",
    429: "Quota exceeded",
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An answer in Zalo's error envelope."""

    def __init__(self, code: int, detail: str | None = None, retry_after: int | None = None):
        base = ERROR_TEXTS.get(code, "Error")
        self.code = code
        self.description = f"{base}: {detail}" if detail else base
        self.retry_after = retry_after
        super().__init__(self.description)


def _bad(detail: str) -> ApiError:
    return ApiError(400, detail)


@dataclass
class Call:
    """One request as the fake saw it and answered it."""

    method: str
    params: Params
    index: int
    at: float
    status: int | None = None  # HTTP status of the answer; None while pending or dropped
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    dropped: bool = False
    done: bool = False

    @property
    def ok(self) -> bool:
        return self.done and not self.dropped and self.error_code is None

    def summary(self) -> str:
        shown = {
            k: (v if len(str(v)) <= 60 else f"{str(v)[:57]}...") for k, v in self.params.items()
        }
        if self.dropped:
            outcome = "dropped"
        elif self.error_code is not None:
            outcome = f"error {self.error_code}"
        else:
            outcome = f"HTTP {self.status}"
        return f"#{self.index} {self.method} {shown} -> {outcome}"


@dataclass(frozen=True)
class Sent:
    """Something the bot sent (what a user would see)."""

    chat_id: str
    kind: Literal["text", "photo", "sticker"]
    message_id: str
    date: int
    text: str | None = None
    photo: str | None = None
    caption: str | None = None
    photo_bytes: bytes | None = None  # when ``fetch_photos``: what the URL served


@dataclass(frozen=True)
class RateLimitHit:
    method: str
    chat_id: str | None
    kind: Literal["overall", "chat", "injected"]
    at: float


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook."""

    update: JSON
    url: str
    status: int | None = None  # the bot's HTTP answer; None if it could not be reached
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Hold:
    """A request held by :meth:`FakeZaloBotAPI.hold_next`: carried out on arrival, its
    answer kept back until :meth:`release` (a slow or lost answer, without timing)."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    call: Call | None = None

    def release(self) -> None:
        self.released.set()


FaultKind = Literal["error", "drop", "bad_gateway", "garbage", "delay", "hold", "rate_limit"]


@dataclass
class _Fault:
    kind: FaultKind
    carry_out: bool = False  # run the method before the fault answers (or fails to)
    code: int = 500
    detail: str | None = None
    body: bytes = b""
    seconds: float = 0.0
    hold: Hold | None = None
    retry_after: int | None = None
    key: str = ""  # the method name (or "*") it was queued under


class FakeZaloBotAPI:
    """The fake server. Nothing listens until :meth:`start` (or ``async with``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        valid_tokens: Iterable[str] | None = None,
        bot_id: str = DEFAULT_BOT_ID,
        account_name: str = "bot.LaoCaiCDS",
        bot_name: str = DEFAULT_BOT_NAME,
        can_join_groups: bool = True,
        max_poll_timeout: float = 5.0,
        error_http_status: Literal["200", "mirror"] = "200",
        enforce_limits: bool = False,
        per_second: int = 5,
        per_chat_per_minute: int = 20,
        retry_after_header: bool = False,
        strict_chats: bool = False,
        fetch_photos: bool = False,
        echo_own_messages: bool = False,
        allow_http_webhook_on_loopback: bool = True,
        control_api: bool = False,
    ) -> None:
        """Configure the fake.

        ``valid_tokens``: only these are accepted (401 for others); by default any token
        of the form ``<digits>:<secret>``. ``max_poll_timeout`` caps getUpdates' wait so
        a test never waits long. ``strict_chats``: a send to a chat no update mentioned
        answers 404. ``fetch_photos``: sendPhoto downloads the URL like Zalo does and
        answers 400 unless it serves an image. ``echo_own_messages``: each send comes
        back as an update from the bot itself (GoClaw reports Zalo doing this).
        """
        self.host = host
        self._requested_port = port
        self.valid_tokens = frozenset(valid_tokens) if valid_tokens is not None else None
        self.bot_id = bot_id
        self.account_name = account_name
        self.bot_name = bot_name
        self.can_join_groups = can_join_groups
        self.max_poll_timeout = max_poll_timeout
        self.error_http_status = error_http_status
        self.enforce_limits = enforce_limits
        self.per_second = per_second
        self.per_chat_per_minute = per_chat_per_minute
        self.retry_after_header = retry_after_header
        self.strict_chats = strict_chats
        self.fetch_photos = fetch_photos
        self.echo_own_messages = echo_own_messages
        self.allow_http_webhook_on_loopback = allow_http_webhook_on_loopback
        self.control_api = control_api

        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.deliveries: list[WebhookDelivery] = []
        self.rate_limit_hits: list[RateLimitHit] = []
        #: group messages Zalo would not pass on (not addressed to the bot)
        self.undelivered: list[JSON] = []
        self.tokens_seen: set[str] = set()
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = 0
        #: chat id → "PRIVATE" | "GROUP", for every chat an update came from
        self.chats: dict[str, str] = {}
        #: chat id → why a send to it answers 404
        self.unreachable: dict[str, str] = {}

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._updates: deque[JSON] = deque()
        self._pollers = 0
        self._delivery_queue: asyncio.Queue[JSON] | None = None
        self._delivery_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._faults: dict[str, deque[_Fault]] = {}
        self._sent_overall: deque[float] = deque()
        self._sent_chat: dict[str, deque[float]] = {}
        self._methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind to ``host:port`` (port 0 = a free one) and start answering."""
        if self._runner is not None:
            return self
        self._closing = asyncio.Event()
        app = web.Application()
        if self.control_api:
            app.router.add_post("/_control/updates", self._control_updates)
            app.router.add_post("/_control/chats/{chat_id}/unreachable", self._control_unreach)
            app.router.add_get("/_control/calls", self._control_calls)
            app.router.add_get("/_control/state", self._control_state)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # access_log=None: an access log would print the token in every URL
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._delivery_queue = asyncio.Queue()
        self._delivery_task = asyncio.create_task(self._deliver_loop(), name="fake-zalo-webhook")
        return self

    async def stop(self) -> None:
        """Wake long polls and held answers, then close the listener and connections."""
        self._closing.set()
        self._notify()
        task, self._delivery_task = self._delivery_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeZaloBotAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Everything before the token: ZALO_API_BASE_URL for the bot under test."""
        return f"http://{self.host}:{self.port}/bot"

    # ---- the API -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except ValueError as err:
            call = self._record(method, {})
            return self._answer_error(call, _bad(f"cannot read the parameters ({err})"))
        call = self._record(method, params)
        self.tokens_seen.add(token)
        if not self._token_ok(token):
            return self._answer_error(call, ApiError(401))
        fault = self._take_fault(method)
        if fault is not None and not fault.carry_out:
            return await self._answer_fault(request, call, fault)
        handler = self._methods.get(method)  # names are case-sensitive, as documented
        try:
            if handler is None:
                raise _bad(f"unknown method {method!r}")
            result = await handler(params)
        except ApiError as err:
            if fault is not None:  # the method failed before the fault could matter
                self._put_back(fault)
            return self._answer_error(call, err)
        if fault is not None:
            return await self._answer_fault(request, call, fault, result)
        return self._answer_ok(call, result)

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query)
        if not request.can_read_body:
            return params
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("the JSON body is not an object")
                params.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            await request.read()
        return params

    def _token_ok(self, token: str) -> bool:
        bot_id, colon, secret = token.partition(":")
        if not (bot_id.isdigit() and colon and secret):
            return False
        return self.valid_tokens is None or token in self.valid_tokens

    def _record(self, method: str, params: Params) -> Call:
        call = Call(method, params, index=len(self.calls), at=time.monotonic())
        self.calls.append(call)
        self._notify()
        return call

    def _finish(self, call: Call, status: int | None, **fields: Any) -> None:
        call.status = status
        for name, value in fields.items():
            setattr(call, name, value)
        call.done = True
        self._notify()

    def _answer_ok(self, call: Call, result: Any) -> web.Response:
        body: JSON = {"ok": True} if result is None else {"ok": True, "result": result}
        self._finish(call, 200, result=result)
        return web.json_response(body)

    def _answer_error(self, call: Call, err: ApiError) -> web.Response:
        status = 200 if self.error_http_status == "200" else err.code
        headers = {}
        if err.retry_after is not None and self.retry_after_header:
            headers["Retry-After"] = str(err.retry_after)
        self._finish(call, status, error_code=err.code, description=err.description)
        body = {"ok": False, "error_code": err.code, "description": err.description}
        return web.json_response(body, status=status, headers=headers)

    async def _answer_fault(
        self, request: web.Request, call: Call, fault: _Fault, result: Any = None
    ) -> web.StreamResponse:
        if fault.kind == "error":
            return self._answer_error(call, ApiError(fault.code, fault.detail))
        if fault.kind == "rate_limit":
            self.rate_limit_hits.append(
                RateLimitHit(call.method, _chat_of(call.params), "injected", time.monotonic())
            )
            return self._answer_error(call, ApiError(429, None, fault.retry_after))
        if fault.kind == "drop":
            # the request was read (and carried out if carry_out); no answer ever comes
            if request.transport is not None:
                request.transport.abort()
            self._finish(call, None, dropped=True, result=result)
            return web.Response()
        if fault.kind == "bad_gateway":
            self._finish(call, 502, result=result)
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        if fault.kind == "garbage":
            self._finish(call, 200, result=result)
            return web.Response(status=200, body=fault.body, content_type="application/json")
        # delay / hold: carried out already; the answer waits
        if fault.kind == "hold" and fault.hold is not None:
            fault.hold.call = call
            fault.hold.arrived.set()
            await self._until(fault.hold.released)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
        return self._answer_ok(call, result)

    async def _until(self, event: asyncio.Event) -> None:
        """Wait for ``event`` or the server's stop, whichever comes first."""
        closing = asyncio.ensure_future(self._closing.wait())
        released = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({closing, released}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (closing, released):
                task.cancel()

    # ---- methods -------------------------------------------------------------------------

    async def _get_me(self, params: Params) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": self.can_join_groups,
        }

    async def _get_updates(self, params: Params) -> JSON:
        if self.webhook_url:
            raise _bad("a webhook is set; call deleteWebhook before getUpdates")
        raw = params.get("timeout", 30)
        try:
            timeout = float(raw)
        except (TypeError, ValueError):
            raise _bad("timeout must be a number of seconds") from None
        if not math.isfinite(timeout) or timeout < 0:
            raise _bad("timeout must be a number of seconds")
        deadline = time.monotonic() + min(timeout, self.max_poll_timeout)
        self._pollers += 1
        self._notify()
        try:
            while not self._updates:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing.is_set():
                    raise ApiError(408)
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            # handed out now: if this answer is lost on the way, so is the update
            return self._updates.popleft()
        finally:
            self._pollers -= 1
            self._notify()

    async def _set_webhook(self, params: Params) -> JSON:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        parts = urlsplit(url)
        loopback = parts.scheme == "http" and _is_loopback(parts.hostname)
        if not parts.netloc or not (
            parts.scheme == "https" or (loopback and self.allow_http_webhook_on_loopback)
        ):
            raise _bad("url must be an HTTPS URL")
        if not isinstance(secret, str) or len(secret) not in SECRET_LENGTHS:
            raise _bad("secret_token must be 8 to 256 characters")
        if not secret.isascii() or not secret.isprintable():
            # it travels in an HTTP header (the docs do not say which characters)
            raise _bad("secret_token must be printable ASCII")
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = _now_ms()
        # updates waiting for a poll go to the webhook now
        while self._updates:
            self._queue_delivery(self._updates.popleft())
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    async def _delete_webhook(self, params: Params) -> JSON:
        self.webhook_url, self.webhook_secret = "", ""
        self.webhook_updated_at = _now_ms()
        return {"url": "", "updated_at": self.webhook_updated_at}

    async def _get_webhook_info(self, params: Params) -> JSON:
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    async def _send_message(self, params: Params) -> JSON:
        chat_id = self._check_chat(params)
        text = params.get("text")
        self._check_text("text", text, required=True)
        self._check_rate_limit("sendMessage", chat_id)
        return self._sent(Sent(chat_id, "text", self._new_id(), _now_ms(), text=str(text)))

    async def _send_photo(self, params: Params) -> JSON:
        chat_id = self._check_chat(params)
        photo = params.get("photo")
        parts = urlsplit(photo if isinstance(photo, str) else "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad("photo must be an http(s) URL of the picture")
        caption = params.get("caption")
        self._check_text("caption", caption, required=False)
        self._check_rate_limit("sendPhoto", chat_id)
        data = await self._fetch_photo(str(photo)) if self.fetch_photos else None
        sent = Sent(
            chat_id,
            "photo",
            self._new_id(),
            _now_ms(),
            photo=str(photo),
            caption=None if caption is None else str(caption),
            photo_bytes=data,
        )
        return self._sent(sent)

    async def _send_sticker(self, params: Params) -> JSON:
        chat_id = self._check_chat(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _bad("sticker is required")
        self._check_rate_limit("sendSticker", chat_id)
        return self._sent(Sent(chat_id, "sticker", self._new_id(), _now_ms(), text=sticker))

    async def _send_chat_action(self, params: Params) -> None:
        self._check_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad(f"action must be one of {', '.join(sorted(CHAT_ACTIONS))}")
        return None  # the docs' answer is a bare {"ok": true}

    # ---- checks --------------------------------------------------------------------------

    def _check_chat(self, params: Params) -> str:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            chat_id = str(chat_id)
        if not isinstance(chat_id, str) or not chat_id:
            raise _bad("chat_id is required")
        if chat_id in self.unreachable:
            raise ApiError(404, self.unreachable[chat_id])
        if self.strict_chats and chat_id not in self.chats:
            raise ApiError(404, "no such chat")
        return chat_id

    def _check_text(self, name: str, value: object, *, required: bool) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str):
            raise _bad(f"{name} is required")
        if not 1 <= utf16_len(value) <= MAX_TEXT_LENGTH:
            raise _bad(f"{name} must be 1 to {MAX_TEXT_LENGTH} characters")

    def _check_rate_limit(self, method: str, chat_id: str) -> None:
        if not self.enforce_limits:
            return
        now = time.monotonic()
        window = self._sent_overall
        while window and window[0] <= now - 1.0:
            window.popleft()
        chat = self._sent_chat.setdefault(chat_id, deque())
        while chat and chat[0] <= now - 60.0:
            chat.popleft()
        if len(window) >= self.per_second:
            self._refuse(method, chat_id, "overall", window[0] + 1.0 - now)
        if len(chat) >= self.per_chat_per_minute:
            self._refuse(method, chat_id, "chat", chat[0] + 60.0 - now)
        window.append(now)
        chat.append(now)

    def _refuse(
        self, method: str, chat_id: str, kind: Literal["overall", "chat"], wait: float
    ) -> None:
        self.rate_limit_hits.append(RateLimitHit(method, chat_id, kind, time.monotonic()))
        raise ApiError(429, None, max(1, math.ceil(wait)))

    async def _fetch_photo(self, url: str) -> bytes:
        assert self._session is not None
        try:
            async with self._session.get(url) as response:
                data = await response.read()
                ctype = response.content_type
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _bad(f"could not download the photo ({type(err).__name__})") from None
        if status != 200 or not ctype.startswith("image/"):
            raise _bad(f"could not download the photo (HTTP {status}, {ctype})")
        return data

    def _sent(self, sent: Sent) -> JSON:
        self.sent.append(sent)
        if self.echo_own_messages:
            own = {"id": self.bot_id, "display_name": self.bot_name, "is_bot": True}
            chat_type = self.chats.get(sent.chat_id, "PRIVATE")
            message: JSON = {
                "from": own,
                "chat": {"id": sent.chat_id, "chat_type": chat_type},
                "message_id": sent.message_id,
                "date": sent.date,
            }
            if sent.kind == "text":
                self.push_update(
                    {"event_name": EVENT_TEXT, "message": message | {"text": sent.text}}
                )
        self._notify()
        return {"message_id": sent.message_id, "date": sent.date}

    def _new_id(self) -> str:
        return f"{next(self._ids):020x}"

    # ---- injecting updates ---------------------------------------------------------------

    def push_update(self, update: JSON) -> JSON:
        """Queue an update (the ``result`` part) for getUpdates, or deliver it to the
        webhook if one is set. Returns it."""
        message = update.get("message")
        if isinstance(message, dict):
            chat = message.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), str):
                self.chats.setdefault(chat["id"], str(chat.get("chat_type", "PRIVATE")))
        if self.webhook_url:
            self._queue_delivery(update)
        else:
            self._updates.append(update)
        self._notify()
        return update

    def _message(
        self, chat_id: str, chat_type: str, user_id: str, name: str, **fields: Any
    ) -> JSON:
        return {
            "from": {"id": user_id, "display_name": name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "message_id": self._new_id(),
            "date": _now_ms(),
            **fields,
        }

    def user_sends_text(
        self, text: str, *, user_id: str = DEFAULT_USER_ID, name: str = DEFAULT_USER_NAME
    ) -> JSON:
        """A user writes to the bot in a private chat (whose id is the user's id)."""
        message = self._message(user_id, "PRIVATE", user_id, name, text=text)
        return self.push_update({"event_name": EVENT_TEXT, "message": message})

    def group_message(
        self,
        text: str,
        *,
        group_id: str = DEFAULT_GROUP_ID,
        user_id: str = DEFAULT_USER_ID,
        name: str = DEFAULT_USER_NAME,
        addressed: Literal["mention", "reply", None] = "mention",
    ) -> JSON | None:
        """A member writes in a group the bot is in.

        Zalo passes on only a message that @mentions the bot ("mention": the text then
        starts with "@<bot name> ") or replies to one of its messages ("reply": the text
        as typed). ``None``: not addressed, so the bot never sees it (kept in
        :attr:`undelivered`) and this returns None.
        """
        if addressed == "mention":
            text = f"@{self.bot_name} {text}"
        message = self._message(group_id, "GROUP", user_id, name, text=text)
        if addressed is None:
            self.chats.setdefault(group_id, "GROUP")
            self.undelivered.append(message)
            return None
        return self.push_update({"event_name": EVENT_TEXT, "message": message})

    def user_sends_image(
        self,
        photo_url: str,
        caption: str | None = None,
        *,
        user_id: str = DEFAULT_USER_ID,
        name: str = DEFAULT_USER_NAME,
    ) -> JSON:
        fields: JSON = {"photo": photo_url}
        if caption is not None:
            fields["caption"] = caption
        message = self._message(user_id, "PRIVATE", user_id, name, **fields)
        return self.push_update({"event_name": EVENT_IMAGE, "message": message})

    def user_sends_sticker(
        self, sticker: str = "0e078a2fb66a5f34067b", *, user_id: str = DEFAULT_USER_ID
    ) -> JSON:
        url = f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker}"
        message = self._message(
            user_id, "PRIVATE", user_id, DEFAULT_USER_NAME, sticker=sticker, url=url
        )
        return self.push_update({"event_name": EVENT_STICKER, "message": message})

    def protected_user_sends(self, *, user_id: str = DEFAULT_USER_ID) -> JSON:
        """A message Zalo will not show the bot (a protected account: children, …): the
        event carries no content."""
        message = self._message(user_id, "PRIVATE", user_id, DEFAULT_USER_NAME)
        return self.push_update({"event_name": EVENT_UNSUPPORTED, "message": message})

    def remove_bot_from_group(self, group_id: str = DEFAULT_GROUP_ID) -> None:
        """The group's owner removed the bot: sends to the group now fail (404)."""
        self.unreachable[group_id] = "the bot is not a member of this group"

    def user_blocks_bot(self, user_id: str = DEFAULT_USER_ID) -> None:
        """The user blocked the bot: sends to their chat now fail (404)."""
        self.unreachable[user_id] = "the user does not accept messages from this bot"

    def restore_chat(self, chat_id: str) -> None:
        """Undo :meth:`remove_bot_from_group` / :meth:`user_blocks_bot`."""
        self.unreachable.pop(chat_id, None)

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    @property
    def polling(self) -> int:
        """How many getUpdates calls are waiting right now."""
        return self._pollers

    # ---- webhook delivery ----------------------------------------------------------------

    def _queue_delivery(self, update: JSON) -> None:
        if self._delivery_queue is None:
            raise RuntimeError("FakeZaloBotAPI is not started")
        self._delivery_queue.put_nowait(update)

    async def _deliver_loop(self) -> None:
        # one at a time, in order, as a single platform sender would
        assert self._delivery_queue is not None
        while True:
            update = await self._delivery_queue.get()
            await self._deliver(update)

    async def _deliver(self, update: JSON) -> None:
        assert self._session is not None
        delivery = WebhookDelivery(update, self.webhook_url)
        headers = {SECRET_HEADER: self.webhook_secret}
        try:
            async with self._session.post(
                self.webhook_url, json={"ok": True, "result": update}, headers=headers
            ) as response:
                await response.read()
                delivery.status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            delivery.error = f"{type(err).__name__}: {err}"
        self.deliveries.append(delivery)
        self._notify()

    # ---- fault injection -----------------------------------------------------------------

    def fail_next(
        self, method: str, error_code: int, detail: str | None = None, *, count: int = 1
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with Zalo's error envelope; the
        method does not run. ``"*"`` matches any method, getUpdates included."""
        self._add_fault(method, count, lambda: _Fault("error", code=error_code, detail=detail))

    def rate_limit_next(
        self, method: str = "*", *, count: int = 1, retry_after: int | None = None
    ) -> None:
        """429 "Quota exceeded" for the next ``count`` calls (a Retry-After header too if
        ``retry_after`` is given and ``retry_after_header`` is on)."""
        self._add_fault(method, count, lambda: _Fault("rate_limit", retry_after=retry_after))

    def drop_next(self, method: str, *, carry_out: bool = True, count: int = 1) -> None:
        """Read the request, then close the connection without answering. With
        ``carry_out`` (the default) the method ran first: the message *was* sent, which is
        why a client must not send it again."""
        self._add_fault(method, count, lambda: _Fault("drop", carry_out=carry_out))

    def bad_gateway_next(self, method: str, *, carry_out: bool = False, count: int = 1) -> None:
        """A proxy in front answers 502 with an HTML page."""
        self._add_fault(method, count, lambda: _Fault("bad_gateway", carry_out=carry_out))

    def garbage_next(
        self,
        method: str,
        *,
        body: bytes = b'{"ok": true, "resu',
        carry_out: bool = True,
        count: int = 1,
    ) -> None:
        """HTTP 200 with a body that is not the API's JSON (by default one cut short)."""
        self._add_fault(method, count, lambda: _Fault("garbage", carry_out=carry_out, body=body))

    def delay_next(self, method: str, seconds: float, *, count: int = 1) -> None:
        """Carry out the next call now, answer it ``seconds`` later (for manual runs;
        tests use :meth:`hold_next`, which waits on a condition instead of a clock)."""
        self._add_fault(method, count, lambda: _Fault("delay", carry_out=True, seconds=seconds))

    def hold_next(self, method: str) -> Hold:
        """Carry out the next call of ``method`` at once and keep its answer until
        ``hold.release()``; ``hold.arrived`` is set when the request is in."""
        hold = Hold()
        self._add_fault(method, 1, lambda: _Fault("hold", carry_out=True, hold=hold))
        return hold

    def _add_fault(self, method: str, count: int, make: Callable[[], _Fault]) -> None:
        for _ in range(count):
            fault = make()
            fault.key = method
            self._faults.setdefault(method, deque()).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        for name in (method, "*"):
            queue = self._faults.get(name)
            if queue:
                return queue.popleft()
        return None

    def _put_back(self, fault: _Fault) -> None:
        # a call the method refused (e.g. a text too long) leaves the fault for the next
        self._faults.setdefault(fault.key, deque()).appendleft(fault)

    # ---- waiting -------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
        what: str = "the condition",
    ) -> None:
        """Wait until ``condition()`` holds (checked whenever the fake's state changes)."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing.is_set():
                recent = "\n  ".join(c.summary() for c in self.calls[-15:])
                raise AssertionError(
                    f"{what} did not happen within {timeout}s; recent calls:\n  "
                    f"{recent or '(none)'}"
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """The first answered call of ``method`` (matching ``predicate``) from index
        ``since`` on, waiting for it if need be."""
        found: list[Call] = []

        def match() -> bool:
            for call in self.calls[since:]:
                if call.method == method and call.done and (predicate is None or predicate(call)):
                    found.append(call)
                    return True
            return False

        await self.wait_until(match, timeout=timeout, what=f"an answered {method} call")
        return found[0]

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until a getUpdates call is waiting for an update."""
        await self.wait_until(lambda: self._pollers > 0, timeout=timeout, what="a poll")

    async def wait_delivered(self, count: int = 1, timeout: float = 5.0) -> WebhookDelivery:  # noqa: ASYNC109
        """Until ``count`` webhook deliveries were tried; returns the last."""
        await self.wait_until(
            lambda: len(self.deliveries) >= count, timeout=timeout, what="a webhook delivery"
        )
        return self.deliveries[count - 1]

    def mark(self) -> int:
        """The number of calls so far, to pass as ``since`` later."""
        return len(self.calls)

    def calls_of(self, method: str, since: int = 0) -> list[Call]:
        return [c for c in self.calls[since:] if c.method == method]

    def sent_to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    # ---- control API (standalone mode) ---------------------------------------------------

    async def _control_updates(self, request: web.Request) -> web.Response:
        """``{"update": {…}}`` as is, or ``{"text", "user_id", "name", "group_id",
        "addressed": "mention"|"reply"|null, "kind": "text"|"image"|"sticker"|
        "unsupported", "photo_url", "caption"}``."""
        body = await request.json()
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object, please")
        if isinstance(body.get("update"), dict):
            return web.json_response(
                {"delivered": True, "update": self.push_update(body["update"])}
            )
        user_id = str(body.get("user_id") or DEFAULT_USER_ID)
        name = str(body.get("name") or DEFAULT_USER_NAME)
        kind = body.get("kind", "text")
        update: JSON | None
        if kind == "image":
            update = self.user_sends_image(
                str(body.get("photo_url") or "https://placehold.co/600x400"),
                body.get("caption"),
                user_id=user_id,
                name=name,
            )
        elif kind == "sticker":
            update = self.user_sends_sticker(user_id=user_id)
        elif kind == "unsupported":
            update = self.protected_user_sends(user_id=user_id)
        elif body.get("group_id"):
            update = self.group_message(
                str(body.get("text", "")),
                group_id=str(body["group_id"]),
                user_id=user_id,
                name=name,
                addressed=body.get("addressed", "mention"),
            )
        else:
            update = self.user_sends_text(str(body.get("text", "")), user_id=user_id, name=name)
        return web.json_response({"delivered": update is not None, "update": update})

    async def _control_unreach(self, request: web.Request) -> web.Response:
        chat_id = request.match_info["chat_id"]
        if request.query.get("undo"):
            self.restore_chat(chat_id)
        else:
            self.unreachable[chat_id] = "the chat cannot be reached"
        return web.json_response({"unreachable": sorted(self.unreachable)})

    async def _control_calls(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        calls = [
            {
                "index": c.index,
                "method": c.method,
                "params": c.params,
                "status": c.status,
                "error_code": c.error_code,
                "description": c.description,
                "dropped": c.dropped,
                "result": c.result,
            }
            for c in self.calls[since:]
            if c.done
        ]
        return web.json_response({"calls": calls, "next": len(self.calls)})

    async def _control_state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "webhook_url": self.webhook_url,
                "pending_updates": len(self._updates),
                "polling": self._pollers,
                "sent": len(self.sent),
                "deliveries": [
                    {"url": d.url, "status": d.status, "error": d.error} for d in self.deliveries
                ],
                "rate_limit_hits": len(self.rate_limit_hits),
                "unreachable": sorted(self.unreachable),
            }
        )


def _chat_of(params: Params) -> str | None:
    chat_id = params.get("chat_id")
    return str(chat_id) if chat_id is not None else None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _now_ms() -> int:
    return int(time.time() * 1000)
