"""The console channel: `python -m bot ask` answers as a private chat would.

A `Reply` becomes plain text; its choices become numbered lines, and typing a
number picks that choice, as pressing the button would in Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.announcements import parse_groups
from bot.answers import Answers
from bot.commands import BY_KEY
from bot.i18n import Translator
from bot.parsing import ChannelCommand, Parsed, RankingQuery, parse_callback
from bot.reply import Choice, Reply, esc, to_plain
from ranking.text import fold

# "trang 2", "page 2", "tr2", "p 2": another page of the ranking shown last
PAGE_ASKED = re.compile(r"(?:trang|tr|page|p)\s*(\d{1,3})")


def render(reply: Reply, t: Translator) -> str:
    """Plain text, then "[1] …" for each choice that can be typed back."""
    parts = [to_plain(reply.text)] if reply.text else []
    if reply.media is not None:
        parts.append(t("media.telegram_only"))
    choices = reply.actions()
    if choices:
        lines = [t("console.choices")]
        lines += [t("console.choice", n=i, label=c.label) for i, c in enumerate(choices, 1)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


@dataclass
class Console:
    """One person's conversation: their language and the choices last offered."""

    answers: Answers
    lang: str = "vi"
    choices: list[Choice] = field(default_factory=list)
    ranking: RankingQuery | None = None  # the ranking shown last, for "trang 2"

    async def say(self, text: str) -> str | None:
        """What the bot prints for one line typed (None: nothing to print)."""
        text = text.strip()
        if not text:
            return None
        reply: Reply | None
        parsed: Parsed | None
        page = PAGE_ASKED.fullmatch(fold(text))
        # a number among the choices offered picks one; any other text (a year, a
        # question) is read as a message
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            action = self.choices[int(text) - 1].action or ""
            reply = await self.answers.to_action(action, lang=self.lang, user_id=None)
            if reply is None:
                return Translator(self.lang)("callback.stale")
            parsed = parse_callback(action, self.answers.catalog)
        elif page is not None and self.ranking is not None:
            parsed = replace(self.ranking, page=max(1, int(page.group(1))))
            reply = await self.answers.to_parsed(parsed, lang=self.lang, user_id=None)
        else:
            await self.answers.rankings.generation()  # groups an upload created are words
            parsed = self.answers.parser.parse(text, private=True)
            if parsed is None:
                return None
            if isinstance(parsed, ChannelCommand):
                reply = self.channel_command(parsed)
            else:
                reply = await self.answers.to_parsed(parsed, lang=self.lang, user_id=None)
        if isinstance(parsed, RankingQuery):
            self.ranking = parsed
        if reply.language:
            self.lang = reply.language
        self.choices = reply.actions()
        return render(reply, Translator(self.lang))

    def channel_command(self, command: ChannelCommand) -> Reply:
        """The console is the private chat of a person who is not an admin: the same
        refusal of admin commands, the same answer to unknown groups and to
        /huydangky (never subscribed); a /dangky that would work says that no
        announcement can reach the console rather than pretend to subscribe it."""
        t = Translator(self.lang)
        spec = BY_KEY[command.key]
        if spec.scope == "admin":
            return Reply(t("admin.refused"))
        if command.key == "unsubscribe":
            return Reply(t("announce.not_subscribed"))
        catalog = self.answers.catalog
        _, unknown = parse_groups(command.rest.split(), catalog)
        if unknown:
            known = ", ".join(g.code for g in catalog.groups.values())
            return Reply(t("announce.unknown_groups", words=esc(" ".join(unknown)), groups=known))
        return Reply(t("console.no_announcements", command="/" + spec.name(t.lang)))
