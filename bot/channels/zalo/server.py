"""The bot's own HTTP server for Zalo's webhook mode: updates in, pictures out.

Two routes under the public base (ZALO_WEBHOOK_URL):

* POST …/zalo/webhook: an update from Zalo. The X-Bot-Api-Secret-Token header must
  equal the secret given to setWebhook, compared in constant time
  (`secret_matches`: a timing difference must not reveal it bit by bit); anything
  else is refused with 403 before the body is read as an update. A good update is
  answered 200 at once and handled after (what Zalo does with a slow webhook is not
  documented).
* GET …/zalo/media/<token>/<file name>: a chart or export on the shelf
  (bot/channels/zalo/shelf.py), 404 for anything unknown or expired.

Why tornado: it is already installed for Telegram's webhooks
(python-telegram-bot[webhooks]) and runs on the same asyncio loop, so the Zalo
server needs no new dependency (aiohttp is only a test dependency here). Its access
log is replaced: a media path is a capability (whoever has it may fetch the chart
until it expires), so it is never written to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.channels.zalo.client import SECRET_HEADER, Update, parse_webhook_update, secret_matches
from bot.channels.zalo.shelf import Shelf

log = logging.getLogger("rankbot.zalo.webhook")

MAX_BODY = 1 << 20  # bytes; an update is a few hundred
TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,64}"


WEBHOOK_PATH = "/zalo/webhook"
MEDIA_PATH = "/zalo/media"


def public_url(public_base: str, path: str) -> str:
    """`path` under the public base, as Zalo reaches it."""
    return public_base.rstrip("/") + path


def local_path(public_base: str, path: str) -> str:
    """`path` as this server sees it: under the base's own path (a proxy in front
    passes the path through)."""
    return urlsplit(public_base).path.rstrip("/") + path


class _Webhook(tornado.web.RequestHandler):
    def initialize(self, secret: str, deliver: Callable[[Update], None]) -> None:
        self.secret = secret
        self.deliver = deliver

    async def post(self) -> None:
        if not secret_matches(self.request.headers.get(SECRET_HEADER), self.secret):
            log.warning("Zalo webhook: a request without the right secret was refused")
            self.send_error(403)
            return
        try:
            update = parse_webhook_update(self.request.body)
        except ValueError as exc:
            log.warning("Zalo webhook: %s", exc)
            self.send_error(400)
            return
        self.deliver(update)
        self.write({"ok": True})


class _Media(tornado.web.RequestHandler):
    def initialize(self, shelf: Shelf) -> None:
        self.shelf = shelf

    def get(self, token: str, file_name: str) -> None:
        item = self.shelf.get(token, unquote(file_name))
        if item is None:
            self.send_error(404)
            return
        self.set_header("Content-Type", item.content_type)
        self.set_header("Cache-Control", "private, max-age=600")
        self.set_header("X-Content-Type-Options", "nosniff")
        if not item.content_type.startswith("image/"):
            self.set_header("Content-Disposition", f'attachment; filename="{item.file_name}"')
        self.write(item.data)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(f"{status_code}\n")


def _quiet_access_log(handler: tornado.web.RequestHandler) -> None:
    """One DEBUG line per request, without the path (a media path is a capability)."""
    log.debug("%s %s -> %d", handler.request.method, type(handler).__name__, handler.get_status())


class WebhookServer:
    """Listens on `listen:port` until `stop`."""

    def __init__(
        self, public_base: str, secret: str, shelf: Shelf, deliver: Callable[[Update], None]
    ) -> None:
        media_path = local_path(public_base, MEDIA_PATH)
        self.app = tornado.web.Application(
            [
                (
                    local_path(public_base, WEBHOOK_PATH),
                    _Webhook,
                    {"secret": secret, "deliver": deliver},
                ),
                (
                    rf"{media_path}/({TOKEN_PATTERN})/([^/]+)",
                    _Media,
                    {"shelf": shelf},
                ),
            ],
            log_function=_quiet_access_log,
            default_handler_class=_NotFound,
        )
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None

    def start(self, listen: str, port: int) -> int:
        """Bind and serve on the running loop; the port bound (for port 0)."""
        sockets = tornado.netutil.bind_sockets(port, listen)
        server = tornado.httpserver.HTTPServer(self.app, max_body_size=MAX_BODY, xheaders=True)
        server.add_sockets(sockets)
        self._server = server
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            await server.close_all_connections()


class _NotFound(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.send_error(404)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(f"{status_code}\n")
