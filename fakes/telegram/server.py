"""The fake's HTTP server: routing, fault injection, flood limits, recording and waiting.

:class:`FakeBotAPI` is the whole fake: the Bot API methods and update builders it inherits,
served by aiohttp on ``127.0.0.1`` at the URLs PTB builds from ``base_url``/``base_file_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

from aiohttp import web

from fakes.telegram.checks import MAX_UPLOAD_SIZE, ApiError, bad
from fakes.telegram.control import add_control_routes
from fakes.telegram.state import DEFAULT_BOT_ID, Call, Files, Params, RateLimitHit, StoredFile
from fakes.telegram.updates import UpdateInjection
from fakes.telegram.wire import json_response, read_params

__all__ = ["FakeBotAPI"]

_LOG = logging.getLogger(__name__)
FILE_CHUNK = 64 * 1024  # bytes a file download writes at a time

JSON = dict[str, Any]

_TOKEN_RE: Final = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")

#: The fake's methods that Telegram counts against the flood limits (30 messages/s overall,
#: 20/min per group).
_SEND_METHODS: Final = frozenset({"sendmessage", "sendphoto", "senddocument"})

#: The texts Telegram answers with, by status, when a test injects an error without one.
_DEFAULT_ERROR_TEXT: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


#: How an answer goes wrong after the method was carried out (:meth:`FakeBotAPI.fail_after`).
AfterFault = Literal["disconnect", "502", "garbage"]
NO_ANSWER: Final = 444  # a Call's status when the connection closed without an answer


@dataclass
class _Fault:
    status: int
    description: str
    parameters: JSON | None


class FakeBotAPI(UpdateInjection):
    """An in-process fake of ``api.telegram.org`` for one bot, on ``127.0.0.1:<port>``.

    State a test can read: ``calls`` (every request, see :class:`~fakes.telegram.Call`),
    ``violations`` (things Telegram would silently degrade, e.g. more than 100 entities;
    tests assert it is empty), ``rate_limit_hits``, ``tokens_seen``, ``commands``,
    ``descriptions``, ``files``. Update builders (:meth:`message`, :meth:`document_message`,
    :meth:`callback_query`, ...) return update dicts for :meth:`push_update`, which the bot
    then receives via getUpdates.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str = "laocai_cds_bot",
        first_name: str = "Xếp hạng CĐS",
        bot_id: int = DEFAULT_BOT_ID,
        enforce_limits: bool = False,
        overall_per_second: int = 30,
        group_per_minute: int = 20,
        max_poll_timeout: float = 5.0,
        valid_tokens: Iterable[str] | None = None,
        control_api: bool = False,
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`.

        ``enforce_limits`` turns on Telegram's flood limits (more than ``overall_per_second``
        sends in any 1 s, or more than ``group_per_minute`` to one group in any 60 s → 429).
        ``max_poll_timeout`` caps getUpdates long polling so a test never waits long.
        ``valid_tokens`` (if given) answers 401 for any other well-formed token, like a revoked
        one. ``control_api`` serves ``/_control/`` (see :mod:`fakes.telegram.control`; the
        standalone CLI turns it on).
        """
        super().__init__(
            username=username,
            first_name=first_name,
            bot_id=bot_id,
            max_poll_timeout=max_poll_timeout,
        )
        self.host = host
        self._requested_port = port
        self.enforce_limits = enforce_limits
        self.overall_per_second = overall_per_second
        self.group_per_minute = group_per_minute
        self.valid_tokens = frozenset(valid_tokens) if valid_tokens is not None else None
        self.control_api = control_api

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._calls_changed = asyncio.Event()
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._after: dict[str, deque[AfterFault]] = {}
        self._sent_overall: deque[float] = deque()
        self._sent_group: dict[int, deque[float]] = {}
        self._methods = self._method_table()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind to ``host:port`` (port 0 = a free one) and start answering."""
        if self._runner is not None:
            return self
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        if self.control_api:
            add_control_routes(app, self)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        # access_log=None: aiohttp's access log would print the bot token in every URL.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        _LOG.debug("fake Bot API listening on %s:%s", self.host, self._port)
        return self

    async def stop(self) -> None:
        """Wake long polls and delayed answers, then close the listener and connections."""
        self._closing.set()
        self._notify_updates()
        self._notify_calls()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``: PTB appends the token."""
        return f"http://{self.host}:{self.port}/file/bot"

    # ---- answering -------------------------------------------------------------------------

    def _record(self, method: str, params: Params, files: Files) -> Call:
        call = Call(method, params, files, time.monotonic(), index=len(self.calls))
        self.calls.append(call)
        self._notify_calls()
        return call

    def _finish(
        self, call: Call, status: int, result: Any = None, error: str | None = None
    ) -> None:
        call.status, call.result, call.error = status, result, error
        self._notify_calls()

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await read_params(request)
        call = self._record(method, params, files)
        if not self._token_ok(token):
            return self._respond(call, ApiError(401, "Unauthorized"))
        key = method.lower()
        counted = key != "getupdates"  # a long poll is waiting, not the bot being busy
        if counted:
            self._in_flight += 1
        try:
            await self._apply_delay(key)
            fault = self._take_fault(key)
            if fault is not None:
                return self._respond(
                    call, ApiError(fault.status, fault.description, fault.parameters)
                )
            handler = self._methods.get(key)
            if handler is None:
                return self._respond(call, ApiError(404, "Not Found: method not found"))
            try:
                self._check_chat_access(params)
                self._check_rate_limit(method, params)
                result = await handler(params, files)
            except ApiError as err:
                return self._respond(call, err)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                # Malformed parameters the fake does not model precisely: answer like
                # Telegram (400) instead of leaving the call unanswered, and say where.
                _LOG.warning("fake Bot API could not handle %s", call.summary(), exc_info=True)
                return self._respond(call, bad(f"invalid parameters ({err!r})"))
            if key in _SEND_METHODS:
                self._record_send(params.get("chat_id"))
            call.performed = True
            after: AfterFault | None = self._take(self._after, key)
            if after is not None:
                return self._answer_after(call, request, after, result)
            return self._respond(call, None, result)
        finally:
            if counted:
                self._in_flight -= 1
                self._last_activity = time.monotonic()

    def _respond(self, call: Call, error: ApiError | None, result: Any = None) -> web.Response:
        if error is not None:
            self._finish(call, error.status, error=error.description)
            _LOG.debug("%s -> %s %s", call.method, error.status, error.description)
            return json_response(error.body(), status=error.status)
        result = copy.deepcopy(result)  # later edits must not change what was answered
        self._finish(call, 200, result)
        return json_response({"ok": True, "result": result})

    def _answer_after(
        self, call: Call, request: web.Request, how: AfterFault, result: Any
    ) -> web.Response:
        """The method was carried out; the answer is lost (`disconnect`), an error from a
        proxy in between (`502`) or not JSON (`garbage`)."""
        result = copy.deepcopy(result)
        if how == "disconnect":
            self._finish(call, NO_ANSWER, result, error="carried out, connection closed")
            if request.transport is not None:
                request.transport.close()  # the client sees a disconnect, no answer
            return web.Response(status=NO_ANSWER)
        if how == "502":
            self._finish(call, 502, result, error="carried out, answered Bad Gateway")
            return web.Response(
                status=502, text="<html><body>502 Bad Gateway</body></html>",
                content_type="text/html",
            )  # fmt: skip
        self._finish(call, 200, result, error="carried out, answered garbage")
        return web.Response(status=200, text='{"ok": true, "result": {', content_type="text/plain")

    def _token_ok(self, token: str) -> bool:
        if token not in self.tokens_seen:
            self.tokens_seen.append(token)
        if not _TOKEN_RE.match(token):
            return False
        return self.valid_tokens is None or token in self.valid_tokens

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """A file download (``file_download`` in :attr:`calls`), as getFile's path names it."""
        token = request.match_info["token"]
        path = request.match_info["file_path"]
        call = self._record("file_download", {"file_path": path}, {})
        if not self._token_ok(token):
            return self._respond(call, ApiError(401, "Unauthorized"))
        self._in_flight += 1
        try:
            await self._apply_delay("file_download")
            fault = self._take_fault("file_download")
            if fault is not None:
                error = ApiError(fault.status, fault.description, fault.parameters)
                return self._respond(call, error)
            stored = next((f for f in self.files.values() if f.file_path == path), None)
            if stored is None:
                return self._respond(call, ApiError(404, "Not Found"))
            return await self._stream_file(request, call, stored)
        finally:
            self._in_flight -= 1
            self._last_activity = time.monotonic()

    async def _stream_file(
        self, request: web.Request, call: Call, stored: StoredFile
    ) -> web.StreamResponse:
        """The file's bytes in chunks; the call's result says how many were written
        before the client had enough (a client that stops reading early shows)."""
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if stored.repeat == 1:
            response.content_length = len(stored.data)
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        try:
            for _ in range(stored.repeat):
                for start in range(0, len(stored.data), FILE_CHUNK):
                    chunk = stored.data[start : start + FILE_CHUNK]
                    await response.write(chunk)
                    sent += len(chunk)
            await response.write_eof()
        except ConnectionError:
            pass  # the client closed the connection: it read no further
        finally:
            self._finish(call, 200, f"<{sent} bytes>")
        return response

    # ---- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        parameters: JSON | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error.

        ``"*"`` matches any method, getUpdates included (so an app's poll may take it).

        Examples: ``fail_next("sendMessage", status=429, parameters={"retry_after": 2})``
        (PTB raises RetryAfter), ``status=403, description="Forbidden: bot was kicked from the
        group chat"`` (Forbidden), ``status=400, description="Bad Request: group chat was
        upgraded to a supergroup chat", parameters={"migrate_to_chat_id": N}`` (ChatMigrated).
        The handler does not run, so nothing is sent. ``"file_download"`` targets file GETs.
        """
        if description is None:
            if status == 429:
                retry_after = (parameters or {}).get("retry_after", 1)
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_ERROR_TEXT.get(status, "Internal Server Error")
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(_Fault(status, description, parameters) for _ in range(count))

    def fail_after(self, method: str, how: AfterFault, count: int = 1) -> None:
        """Carry out the next ``count`` calls of ``method`` (a message is sent), then
        answer wrongly: ``"disconnect"`` closes the connection without an answer (httpx:
        RemoteProtocolError), ``"502"`` answers a proxy's Bad Gateway page, ``"garbage"``
        a 200 whose body is not JSON. The bot cannot know the message arrived; it did.
        """
        self._after.setdefault(method.lower(), deque()).extend([how] * count)

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Hold the next ``count`` answers to ``method`` (``"*"``: any) for ``seconds``.

        The request is still carried out afterwards, like Telegram after a client timeout:
        the bot sees ``TimedOut`` but the message was sent.
        """
        self._delays.setdefault(method.lower(), deque()).extend([seconds] * count)

    def _take(self, table: dict[str, deque[Any]], key: str) -> Any:
        for name in (key, "*"):
            queue = table.get(name)
            if queue:
                return queue.popleft()
        return None

    def _take_fault(self, key: str) -> _Fault | None:
        fault: _Fault | None = self._take(self._faults, key)
        return fault

    async def _apply_delay(self, key: str) -> None:
        seconds: float | None = self._take(self._delays, key)
        if seconds:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    # ---- flood limits ----------------------------------------------------------------------

    def _check_rate_limit(self, method: str, params: Params) -> None:
        if not self.enforce_limits or method.lower() not in _SEND_METHODS:
            return
        now = time.monotonic()
        chat_id = params.get("chat_id")
        window = self._sent_overall
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.overall_per_second:
            self._refuse(method, chat_id, "overall", window[0] + 1.0 - now)
        if isinstance(chat_id, int) and chat_id < 0:
            group = self._sent_group.setdefault(chat_id, deque())
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.group_per_minute:
                self._refuse(method, chat_id, "group", group[0] + 60.0 - now)

    def _refuse(
        self, method: str, chat_id: Any, kind: Literal["overall", "group"], wait: float
    ) -> None:
        retry_after = max(1, math.ceil(wait))
        self.rate_limit_hits.append(
            RateLimitHit(method, chat_id, kind, retry_after, time.monotonic())
        )
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def _record_send(self, chat_id: Any) -> None:
        now = time.monotonic()
        self._sent_overall.append(now)
        if isinstance(chat_id, int) and chat_id < 0:
            self._sent_group.setdefault(chat_id, deque()).append(now)

    # ---- recording and waiting -------------------------------------------------------------

    def _notify_calls(self) -> None:
        self._calls_changed.set()
        self._calls_changed = asyncio.Event()

    def mark(self) -> int:
        """The current number of calls, to pass as ``since`` later."""
        return len(self.calls)

    def calls_since(self, mark: int = 0, method: str | None = None) -> list[Call]:
        """Calls recorded from index ``mark`` on, optionally only of ``method``."""
        calls = self.calls[mark:]
        if method is None:
            return calls
        return [c for c in calls if c.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        since: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> Call:
        """Wait until a call of ``method`` (matching ``predicate``) has been answered.

        Searches from ``since`` (default: all calls). Raises AssertionError with the recent
        calls if none arrives within ``timeout`` seconds.
        """
        start = since or 0
        deadline = time.monotonic() + timeout
        while True:
            event = self._calls_changed
            pending = False
            for call in self.calls[start:]:
                if call.method.lower() != method.lower():
                    continue
                if predicate is not None and not predicate(call):
                    continue
                if call.done:
                    return call
                pending = True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing.is_set():
                recent = "\n  ".join(
                    c.summary() for c in self.calls[max(start, len(self.calls) - 25) :]
                )
                state = " (one matched but is still unanswered)" if pending else ""
                raise AssertionError(
                    f"no {method} call{' matching the predicate' if predicate else ''} was "
                    f"answered within {timeout}s since #{start}{state}; recent calls:\n  "
                    f"{recent or '(none)'}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_idle(self, quiet: float = 0.1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every pushed update was fetched and no other request ran for ``quiet`` s.

        A heuristic for "the bot has finished reacting", good for checking that nothing
        (more) was sent; work that makes no request (a store write) is not seen, so wait for
        that on its own condition. getUpdates long polls don't count as activity. Raises
        AssertionError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fetched = not self._updates or self._delivered_up_to >= self._updates[-1]["update_id"]
            idle_for = time.monotonic() - self._last_activity
            if fetched and self._in_flight == 0 and idle_for >= quiet:
                return
            await asyncio.sleep(min(0.01, quiet))
        raise AssertionError(
            f"fake Bot API not idle after {timeout}s: {len(self._updates)} pending updates, "
            f"{self._in_flight} requests in flight"
        )
