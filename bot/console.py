"""The console channel: `python -m bot ask` answers as a private chat would.

A `Reply` becomes plain text; its choices become numbered lines, and typing a
number picks that choice, as pressing the button would in Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.answers import Answers
from bot.i18n import Translator
from bot.reply import Choice, Reply, to_plain


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

    async def say(self, text: str) -> str | None:
        """What the bot prints for one line typed (None: nothing to print)."""
        text = text.strip()
        if not text:
            return None
        reply: Reply | None
        # a number among the choices offered picks one; any other text (a year, a
        # question) is read as a message
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            action = self.choices[int(text) - 1].action or ""
            reply = await self.answers.to_action(action, lang=self.lang, user_id=None)
            if reply is None:
                return Translator(self.lang)("callback.stale")
        else:
            reply = await self.answers.to_text(text, lang=self.lang)
        if reply is None:
            return None
        if reply.language:
            self.lang = reply.language
        self.choices = reply.actions()
        return render(reply, Translator(self.lang))
