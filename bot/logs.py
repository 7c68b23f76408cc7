"""Logging that never shows the bot token.

httpx logs every request URL at INFO, and Bot API URLs carry the token
(`/bot<token>/sendMessage`, `/file/bot<token>/…`); exception texts can carry
it too. A filter on every handler rewrites any token-shaped text, and the
known token itself, before a record is written.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

# ":" may come percent-encoded (httpx logs file URLs as /file/bot123456%3AAA…)
TOKEN_SHAPE = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}")
REDACTED = "<redacted>"


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()):
        super().__init__()
        variants: list[str] = []
        for secret in secrets:
            if not secret:
                continue
            variants += [secret, quote(secret, safe="")]
            # a bot token's secret part alone survives any encoding of the ":" before it
            _, colon, rest = secret.partition(":")
            if colon and len(rest) >= 20:
                variants.append(rest)
        # longest first, so a whole token is replaced before a part of it
        self.secrets = tuple(sorted(set(variants), key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_network_error(error):
            # Telegram unreachable is a condition, not a bug: one line, not 100 of
            # httpx/anyio traceback (PTB's retry loops log it with exc_info).
            message += f" ({type(error).__name__}: {error})"
            record.exc_info = None
            record.exc_text = None
        elif record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so no handler prints the raw one.
            formatter = logging.Formatter()
            message += "\n" + formatter.formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self.redact(message)
        record.args = None
        return True


def is_network_error(error: BaseException) -> bool:
    from telegram.error import BadRequest, NetworkError

    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def setup_logging(*secrets: str, level: int = logging.INFO) -> RedactingFilter:
    redacting = RedactingFilter(secrets)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for existing in root.handlers:
        existing.addFilter(redacting)
    # Request URLs hold the token: keep httpx quiet even though the filter would redact.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return redacting
