"""The numbered choices a Zalo chat was last offered, so a typed "2" can pick one.

Zalo has no buttons (docs/zalo.md): a reply lists its choices as "[1] …", "[2] …",
and the next message of that chat that is one of those numbers picks it, as a
button press would on Telegram. Per chat, in memory: in a group the choices are
the group's (the bot sees only messages addressed to it there, so a member who
answers the bot with "2" picks from what it last said in that group).

Why they expire: a "3" typed an hour later is more likely a new question than an
answer to a list nobody remembers; after CHOICES_TTL the user is told the choices
are gone and asked again. A restart forgets them all, which reads the same way.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

CHOICES_TTL = 15 * 60.0  # seconds a numbered choice can be picked
MAX_CHATS = 10_000  # chats remembered; the least recently offered go first


@dataclass(frozen=True)
class Picked:
    """A typed number among those offered: its action, or `expired`."""

    action: str
    expired: bool = False


@dataclass
class _Offer:
    actions: list[str]
    at: float


class ChoiceMemory:
    def __init__(
        self,
        ttl: float = CHOICES_TTL,
        max_chats: int = MAX_CHATS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_chats = max_chats
        self._clock = clock
        self._offers: OrderedDict[str, _Offer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._offers)

    def offer(self, chat_id: str, actions: list[str]) -> None:
        """What the latest reply in this chat offered; no actions forget the old ones
        (a number then means what it says, as in the console)."""
        self._offers.pop(chat_id, None)
        if not actions:
            return
        self._offers[chat_id] = _Offer(list(actions), self._clock())
        while len(self._offers) > self.max_chats:
            self._offers.popitem(last=False)

    def pick(self, chat_id: str, text: str) -> Picked | None:
        """The choice `text` picks; None when it is not one of the numbers offered (then
        it is read as a message: a year, a question)."""
        offer = self._offers.get(chat_id)
        text = text.strip()
        if offer is None or not (text.isdecimal() and text.isascii()):
            return None
        number = int(text)
        if not 1 <= number <= len(offer.actions):
            return None
        action = offer.actions[number - 1]
        if self._clock() - offer.at > self.ttl:
            del self._offers[chat_id]
            return Picked(action, expired=True)
        return Picked(action)
