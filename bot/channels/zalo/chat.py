"""Questions on Zalo: one update in, the same `Answers` as every channel, a reply out.

What Zalo lets a bot see (docs/zalo.md): in a private chat every message; in a
group only the messages that @mention the bot or reply to one of its messages.
So everything that reaches the bot from a group is addressed to it and is read
as a private chat would read it ("bac ha" works after "@Bot …"), once the mention
is taken off. How Zalo writes a mention into the text is not documented: the bot
takes off "@<name>" for ZALO_BOT_NAME and the account name getMe gives, and when
neither matches, a leading mention up to the first /command.

Commands the channel answers itself (bot/commands.py, channel=True):

* /dangky, /huydangky: anyone for their own private chat. In a group, Zalo has
  no way to tell a bot who the group's admins are (no member or admin lookup, and
  no event says who added the bot), so the bot checks a configured list instead:
  only the Zalo user ids in RANKBOT_ZALO_ADMIN_IDS may (un)subscribe a group, and
  anyone else is told so, with their own id to pass on to whoever runs the bot.
* every admin command (/tailen, /hoantac, /thongbao, …): uploads and the rest stay
  on Telegram and the command line; a Zalo admin is told so, anyone else that the
  command is for admins.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Iterable

from bot.announcements import echo_unknown, groups_label, parse_groups
from bot.answers import Answers
from bot.channels.zalo import render
from bot.channels.zalo.client import EventName, Message, Update, ZaloError
from bot.channels.zalo.replies import Replier
from bot.flood import FloodGuard, RefusalLog, Verdict
from bot.i18n import DEFAULT_LANGUAGE, Translator
from bot.parsing import ChannelCommand
from bot.reply import Reply, esc
from ranking.store import Store, store_failure

log = logging.getLogger("rankbot.zalo")

CHANNEL = "zalo"
MAX_LANGUAGES = 10_000  # people whose language is kept in memory (the store has them all)
STORE_REPORT_INTERVAL = 3600.0  # seconds between two reports of the same store failure
_FIRST_COMMAND = re.compile(r"(?:^|\s)(/\S)")


def question_in(text: str, names: Iterable[str]) -> str:
    """A group message without the bot's @mention ("@Bot Xếp hạng CĐS bac ha" → "bac
    ha"). A reply to the bot has no mention: its text is the question as typed."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        mention = re.compile(r"@" + re.escape(name) + r"(?![\w])", re.IGNORECASE)
        if mention.search(text):
            return " ".join(mention.sub(" ", text).split())
    stripped = text.strip()
    if stripped.startswith("@"):
        # an unknown way of writing the bot's name: a /command after it still works
        found = _FIRST_COMMAND.search(stripped)
        if found:
            return stripped[found.start(1) :].strip()
    return stripped


class ZaloChat:
    """Answers updates. One instance per channel; `handle` is safe to run concurrently
    for different chats (the channel keeps one chat's updates in order)."""

    def __init__(
        self,
        *,
        answers: Answers,
        replier: Replier,
        store: Store,
        admin_ids: frozenset[str],
        bot_id: str,
        bot_names: Iterable[str],
        flood: FloodGuard | None,
        db_path: str = "",
    ) -> None:
        self.answers = answers
        self.replier = replier
        self.store = store
        self.admin_ids = admin_ids
        self.bot_id = bot_id
        self.bot_names = tuple(n for n in bot_names if n)
        self.flood = flood
        self.refusals = RefusalLog()
        self._languages: OrderedDict[str, str] = OrderedDict()
        self.db_path = db_path
        self._store_reports: dict[str, float] = {}  # failure kind → when admins were told

    async def handle(self, update: Update) -> None:
        message = update.message
        if message is None or message.sender.is_bot or message.sender.id == self.bot_id:
            return  # Zalo may echo the bot's own sends back (docs/zalo.md)
        try:
            await self._handle(update, message)
        except Exception as exc:
            failure = store_failure(exc)
            t = Translator(await self._language_or_default(message.sender.id))
            text = t("error.internal")
            if failure is None:
                log.error("Zalo update failed: %s", exc, exc_info=exc)
            else:  # named for what it is, and the Zalo admins are told (the reply says so)
                log.warning("Zalo update not saved (%s): %s", failure.value, exc)
                text = t("error.store_user", reason=t(f"store.{failure.value}"))
            try:
                await self.replier.sender.text(message.chat.id, text)
            except ZaloError as again:
                log.warning("could not send the apology either: %s", again)
            if failure is not None:
                await self._tell_admins(failure.value)

    async def _tell_admins(self, kind: str) -> None:
        """A full disk, a read-only or locked database: once per kind an hour, to each
        Zalo admin's private chat (its id is the user's id), as Telegram's admins are
        told on theirs. A bot that runs on Zalo alone has no other way to say it."""
        now = time.monotonic()
        last = self._store_reports.get(kind)
        if last is not None and now - last < STORE_REPORT_INTERVAL:
            return
        self._store_reports[kind] = now
        t = Translator(DEFAULT_LANGUAGE)
        marked = t("error.store_admin", reason=t(f"store.{kind}"), db=esc(self.db_path))
        for admin_id in sorted(self.admin_ids):
            try:
                for text in render.messages(marked):
                    await self.replier.sender.text(admin_id, text)
            except ZaloError as exc:  # one who never wrote to the bot may not be reachable
                log.warning("could not tell Zalo admin %s of the store failure: %s", admin_id, exc)

    async def _handle(self, update: Update, message: Message) -> None:
        chat_id, user_id = message.chat.id, message.sender.id
        private = not message.chat.is_group
        lang = await self.language(user_id)
        t = Translator(lang)
        text = update.text
        if text is None:
            media = private and update.event_name in (EventName.IMAGE, EventName.STICKER)
            if media and await self._let_through(chat_id, user_id, t):  # a reply costs a send
                key = "zalo.admin_elsewhere" if self.is_admin(user_id) else "zalo.text_only"
                await self.replier.send_text(chat_id, t(key), [], t)
            return  # a protected account's message carries nothing to answer
        if not private:
            text = question_in(text, self.bot_names) or "/trogiup"
        if not await self._let_through(chat_id, user_id, t):
            return
        picked = self.replier.memory.pick(chat_id, text)
        reply: Reply | None
        if picked is not None:
            if picked.expired:
                reply = Reply(t("zalo.choices_expired"))
            else:
                reply = await self.answers.to_action(picked.action, lang=lang, user_id=None)
                if reply is None:
                    reply = Reply(t("zalo.choice_stale"))
        else:
            parsed = self.answers.parser.parse(text, private=True)
            if parsed is None:
                return
            if isinstance(parsed, ChannelCommand):
                await self._channel_command(parsed, message, t)
                return
            reply = await self.answers.to_parsed(parsed, lang=lang, user_id=None)
        if reply.language:
            await self.set_language(user_id, reply.language)
            t = Translator(reply.language)
        await self.replier.send(chat_id, reply, t)

    # ---- who and in which language ----------------------------------------------------

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admin_ids

    async def language(self, user_id: str) -> str:
        """The person's /ngonngu choice, else Vietnamese (Zalo tells no language)."""
        cached = self._languages.get(user_id)
        if cached is not None:
            self._languages.move_to_end(user_id)
            return cached
        lang = await self.store.people.channel_language(CHANNEL, user_id) or DEFAULT_LANGUAGE
        self._remember(user_id, lang)
        return lang

    async def _language_or_default(self, user_id: str) -> str:
        try:
            return await self.language(user_id)
        except Exception:  # the store may be what broke
            return DEFAULT_LANGUAGE

    async def set_language(self, user_id: str, lang: str) -> None:
        await self.store.people.set_channel_language(CHANNEL, user_id, lang)
        self._remember(user_id, lang)

    def _remember(self, user_id: str, lang: str) -> None:
        self._languages[user_id] = lang
        self._languages.move_to_end(user_id)
        while len(self._languages) > MAX_LANGUAGES:
            self._languages.popitem(last=False)

    async def _let_through(self, chat_id: str, user_id: str, t: Translator) -> bool:
        """The per-user query limit (bot/flood.py); admins are exempt. Over it, one
        "wait" and then silence, so the bot does not become the flood."""
        if self.flood is None:
            return True
        verdict = self.flood.check(user_id)
        if verdict is Verdict.ALLOW or self.is_admin(user_id):
            return True
        if verdict is Verdict.WARN:
            seconds = max(1, math.ceil(self.flood.retry_after(user_id)))
            log.info("flood guard: Zalo user %s asked too fast", user_id)
            await self.replier.send_text(chat_id, t("flood.wait", seconds=seconds), [], t)
        return False

    # ---- the channel's own commands --------------------------------------------------

    async def _channel_command(
        self, command: ChannelCommand, message: Message, t: Translator
    ) -> None:
        chat_id, user_id = message.chat.id, message.sender.id
        if command.key in ("subscribe", "unsubscribe"):
            if message.chat.is_group and not self.is_admin(user_id):
                log.info("Zalo user %s may not (un)subscribe group %s", user_id, chat_id)
                text = t("zalo.group_admins_only", user_id=esc(user_id))
            elif command.key == "subscribe":
                text = await self._subscribe(command.rest, message, t)
            else:
                removed = await self.store.outbox.unsubscribe(
                    chat_id, by=None, reason="command", channel=CHANNEL, actor=f"zalo:{user_id}"
                )
                text = t("announce.unsubscribed") if removed else t("announce.not_subscribed")
        elif self.is_admin(user_id):
            text = t("zalo.admin_elsewhere")
        else:
            skipped = self.refusals.note(user_id)
            if skipped is not None:  # one line a minute per user, the rest counted
                log.warning(
                    "refused /%s to Zalo user %s (not an admin; +%d refused before)",
                    command.key,
                    user_id,
                    skipped,
                )
            text = t("admin.refused")
        await self.replier.send_text(chat_id, text, [], t)

    async def _subscribe(self, rest: str, message: Message, t: Translator) -> str:
        catalog = self.answers.catalog
        codes, unknown = parse_groups(rest.split(), catalog)
        if unknown:
            known = ", ".join(g.code for g in catalog.groups.values())
            return t("announce.unknown_groups", words=echo_unknown(unknown), groups=known)
        group = message.chat.is_group
        await self.store.outbox.subscribe(
            message.chat.id,
            "group" if group else "private",
            codes or None,
            by=None,
            channel=CHANNEL,
            actor=f"zalo:{message.sender.id}",
        )
        key = "announce.subscribed_group" if group else "announce.subscribed_private"
        return t(key, groups=groups_label(codes, catalog, t))
