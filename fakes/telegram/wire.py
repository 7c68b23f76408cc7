"""How PTB sends Bot API parameters, and how Telegram answers.

Checked against PTB 22.8 itself: every method is a ``POST``; without parameters the body is
empty; otherwise the body is ``application/x-www-form-urlencoded`` where every value is a
string: objects/lists (``reply_markup``, ``commands``, ``results``, ``scope``...) are JSON
text, ints are their digits (``chat_id=42``), booleans are ``true``/``false`` and strings are
sent raw (``text=[1, 2]`` is *not* JSON-quoted). When a file is uploaded the same fields
travel as ``multipart/form-data`` parts and the file is a part with a ``filename``. Because a
raw string can look like JSON or a number, values are decoded by parameter name (see
:func:`decode_param`), as Telegram itself does from its method schema. Telegram also
takes an ``application/json`` body (except for uploads), which the bot's HTTP client
sends (bot/channels/telegram/sending.py): an object whose values are those same
strings, decoded alike; a value that is not a string is taken as it is.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Final

from aiohttp import BodyPartReader, web

__all__ = ["decode_param", "json_response", "read_params"]

Params = dict[str, Any]
Files = dict[str, tuple[str, bytes]]

_INT_RE: Final = re.compile(r"-?\d{1,19}\Z")
_FLOAT_RE: Final = re.compile(r"-?\d+\.\d+\Z")

#: Parameters of the fake's methods that PTB sends as JSON text (objects and lists).


def _words(text: str) -> frozenset[str]:
    """A set of names written as one readable, space-separated string."""
    return frozenset(text.split())


_JSON_PARAMS: Final = _words(
    "reply_markup results commands scope menu_button allowed_updates link_preview_options "
    "reply_parameters"
)

#: Parameters that are always strings, even when they look like a number, bool or JSON.
_STRING_PARAMS: Final = _words(
    "text caption description short_description url secret_token callback_query_id "
    "inline_query_id next_offset file_id parse_mode language_code action document photo"
)

#: Telegram answers raw UTF-8 JSON (no ASCII escapes); also readable in the control API.
json_response = functools.partial(
    web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False)
)


def decode_param(name: str, raw: str) -> Any:
    """Turn one form/multipart value (always a string from PTB) into its Bot API type.

    Decoding is by parameter name because PTB sends strings raw: ``text="42"`` must stay a
    string while ``chat_id="42"`` is an int and ``reply_markup="{...}"`` is JSON.
    """
    if name in _STRING_PARAMS:
        return raw
    if name in _JSON_PARAMS:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if raw in ("true", "false"):
        return raw == "true"
    if _INT_RE.match(raw):
        return int(raw)
    if _FLOAT_RE.match(raw):
        return float(raw)
    return raw


async def read_params(request: web.Request) -> tuple[Params, Files]:
    """The decoded query string and form or multipart body of one API request."""
    params: Params = {k: decode_param(k, v) for k, v in request.query.items()}
    files: Files = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    ctype = request.content_type
    if ctype == "multipart/form-data":
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = (part.filename, bytes(await part.read()))
            else:
                params[part.name] = decode_param(part.name, await part.text())
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = decode_param(key, value)
    elif ctype == "application/json":
        body = json.loads(await request.read())
        if not isinstance(body, dict):
            raise ValueError("a JSON body must be an object")
        for key, value in body.items():
            params[key] = decode_param(key, value) if isinstance(value, str) else value
    else:
        await request.read()  # PTB sends an empty octet-stream body for no parameters
    return params, files
