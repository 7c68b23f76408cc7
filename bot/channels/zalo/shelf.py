"""Pictures and files the bot's own HTTP server hands out, each under an unguessable
path that expires.

Why: Zalo's sendPhoto takes a URL only, and Zalo downloads the picture from it
(docs/zalo.md: there is no upload), so a chart must be on a public address for as
long as Zalo needs to fetch it. The path carries 192 random bits
(`secrets.token_urlsafe`), so nobody can list or guess another chat's charts; it
expires after MEDIA_TTL, and at most MAX_ITEMS are kept in memory (the oldest go
first). A restart forgets them all: a link that old has long been fetched.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

MEDIA_TTL = 15 * 60.0  # seconds a link works (Zalo fetches a photo before it answers)
MAX_ITEMS = 200
TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters

CONTENT_TYPES = {
    ".png": "image/png",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Item:
    data: bytes
    file_name: str
    content_type: str
    expires: float


class Shelf:
    """What the server serves: token → item. `url_for` builds the public address."""

    def __init__(
        self,
        public_base: str,
        *,
        ttl: float = MEDIA_TTL,
        max_items: int = MAX_ITEMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.public_base = public_base.rstrip("/")  # …/zalo/media
        self.ttl = ttl
        self.max_items = max_items
        self._clock = clock
        self._items: OrderedDict[str, Item] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, data: bytes, file_name: str) -> str:
        """Shelve `data`; its public URL (valid for `ttl` seconds)."""
        self._drop_expired()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        suffix = file_name[file_name.rfind(".") :].lower() if "." in file_name else ""
        content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
        self._items[token] = Item(data, file_name, content_type, self._clock() + self.ttl)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return f"{self.public_base}/{token}/{quote(file_name)}"

    def get(self, token: str, file_name: str) -> Item | None:
        """The item, if the token is known, unexpired and named `file_name`."""
        item = self._items.get(token)
        if item is None or item.file_name != file_name:
            return None
        if self._clock() >= item.expires:
            del self._items[token]
            return None
        return item

    def _drop_expired(self) -> None:
        now = self._clock()
        for token in [t for t, item in self._items.items() if now >= item.expires]:
            del self._items[token]
