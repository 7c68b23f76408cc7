"""The small HTTP control API of the standalone fake (``python -m fakes.telegram``).

It lets a person or a script drive a bot started with ``python -m bot run`` against the fake:
act as a user, upload the file a user would send, and read what the bot did. JSON routes
under ``/_control/``:

``POST /_control/updates``
    a full update (``update_id`` optional), or ``{"text", "chat_id", "user_id",
    "chat_type", "username", "first_name", "chat_title", "language_code"}`` (a message), or
    ``{"file_id", "caption", ...}`` (a document message for a file stored with
    ``/_control/files``); answers ``{"ok": true, "update_id": N}``.
``POST /_control/files?file_name=x.csv[&mime_type=...]``
    stores the raw body as a file and answers its fields (``file_id`` etc.).
``GET /_control/calls?since=N``
    the requests the bot made from index N on (file contents by size only).
``GET /_control/state``
    violations, rate-limit refusals, pending updates and the number of calls.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fakes.telegram.state import DEFAULT_USER_ID
from fakes.telegram.updates import ALL_UPDATE_TYPES, UpdateInjection
from fakes.telegram.wire import json_response

__all__ = ["add_control_routes"]

JSON = dict[str, Any]


def add_control_routes(app: web.Application, srv: UpdateInjection) -> None:
    """Serve the control API of ``srv`` under ``/_control/`` on ``app``."""
    control = _Control(srv)
    app.router.add_post("/_control/updates", control.updates)
    app.router.add_get("/_control/calls", control.calls)
    app.router.add_post("/_control/files", control.files)
    app.router.add_get("/_control/state", control.state)


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy of recorded data (bytes become a size note)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _sender(body: JSON) -> int:
    """The sender of a control-API message: ``user_id``, else a private ``chat_id``."""
    if "user_id" in body:
        return int(body["user_id"])
    chat_id = body.get("chat_id")
    if body.get("chat_type", "private") == "private" and chat_id is not None:
        return int(chat_id)
    return DEFAULT_USER_ID


class _Control:
    def __init__(self, srv: UpdateInjection) -> None:
        self.srv = srv

    async def updates(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return json_response({"ok": False, "description": "body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return json_response(
                {"ok": False, "description": "body must be an object"}, status=400
            )
        try:
            if any(k in ALL_UPDATE_TYPES for k in body):
                update: JSON = body
            elif "file_id" in body:
                update = self._document(body)
            elif "text" in body:
                update = self.srv.message(
                    str(body["text"]),
                    chat_id=body.get("chat_id"),
                    user_id=_sender(body),
                    chat_type=body.get("chat_type", "private"),
                    language_code=body.get("language_code", "vi"),
                    username=body.get("username"),
                    first_name=body.get("first_name"),
                    chat_title=body.get("chat_title"),
                )
            else:
                raise ValueError("expected an update, {'text': ...} or {'file_id': ...}")
            update_id = self.srv.push_update(update)
        except (ValueError, KeyError, TypeError) as err:
            return json_response({"ok": False, "description": str(err)}, status=400)
        return json_response({"ok": True, "update_id": update_id})

    def _document(self, body: JSON) -> JSON:
        stored = self.srv.files[str(body["file_id"])]
        return self.srv.document_message(
            stored.data,
            stored.file_name or "file",
            caption=body.get("caption"),
            mime_type=stored.mime_type,
            chat_id=body.get("chat_id"),
            user_id=_sender(body),
            chat_type=body.get("chat_type", "private"),
            language_code=body.get("language_code", "vi"),
            username=body.get("username"),
        )

    async def calls(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        out = [
            {
                "index": c.index,
                "method": c.method,
                "params": _jsonable(c.params),
                "files": {k: {"filename": fn, "size": len(d)} for k, (fn, d) in c.files.items()},
                "at": c.at,
                "status": c.status,
                "result": _jsonable(c.result),
                "error": c.error,
            }
            for c in self.srv.calls[since:]
        ]
        return json_response(out)

    async def files(self, request: web.Request) -> web.Response:
        data = await request.read()
        stored = self.srv.register_file(
            data,
            request.query.get("file_name") or "upload.bin",
            mime_type=request.query.get("mime_type"),
        )
        return json_response({**stored.fields(), "file_path": stored.file_path})

    async def state(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "violations": self.srv.violations,
                "rate_limit_hits": [_jsonable(vars(h)) for h in self.srv.rate_limit_hits],
                "pending_updates": len(self.srv.pending_updates),
                "calls": len(self.srv.calls),
            }
        )
