"""Every command the bot knows, defined once.

A row gives a command's canonical key, its Telegram names in Vietnamese and in
English (ASCII, as a menu shows them), further words that mean it, who may use
it and where, whether it works without a slash, and whether a channel handles it
itself. The parser's words, every menu (per scope and language), the help and
every handler registration are derived from this table.

How to add a command: add a row here; give it a handler (a query: a `Parsed`
case in bot/parsing.py answered in bot/answers.py; a channel command: an entry in
the channel's handler map, e.g. bot/channels/telegram/app.py); add `menu.<key>`
(and `example.<key>` if it takes arguments) to both catalogs in locales/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ranking.text import fold

Scope = Literal["everyone", "admin"]
# "always": understood as the first words of a private message ("top 5 huyen");
# "alone": only when it is the whole message ("nam" also starts "Nam Định");
# "never": only with a slash (a file or a picture is never sent for a stray word,
# nor an admin action started by one).
PlainText = Literal["always", "alone", "never"]


@dataclass(frozen=True)
class Command:
    key: str
    vi: str
    en: str
    aliases: tuple[str, ...] = ()
    scope: Scope = "everyone"
    private_only: bool = False  # admins act in their private chat only
    plain_text: PlainText = "never"
    in_menu: bool = True
    # True: the channel answers it with a handler of its own (uploads, subscriptions,
    # backups); False: bot/answers.py answers it, the same in every channel.
    channel: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every word that names this command, folded, without the slash."""
        return tuple(dict.fromkeys(fold(n) for n in (self.vi, self.en, *self.aliases)))

    @property
    def menu_key(self) -> str:
        return f"menu.{self.key}"

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


COMMANDS: tuple[Command, ...] = (
    Command("top", "top", "top", ("xep hang", "bxh"), plain_text="always"),
    Command("bottom", "cuoi", "bottom", plain_text="always"),
    Command("unit", "donvi", "unit", plain_text="always"),
    Command("compare", "sosanh", "compare", ("so sanh",), plain_text="always"),
    Command("chart", "bieudo", "chart"),
    Command("export", "xuat", "export"),
    Command("levels", "muc", "levels", plain_text="always"),
    Command("years", "nam", "years", plain_text="alone"),
    Command("groups", "nhom", "groups", plain_text="alone"),
    Command("subscribe", "dangky", "subscribe", channel=True),
    Command("unsubscribe", "huydangky", "unsubscribe", channel=True),
    Command("language", "ngonngu", "lang", ("language",), plain_text="alone"),
    Command("help", "trogiup", "help", plain_text="always"),
    Command("start", "start", "start", plain_text="alone", in_menu=False),
    # admins, in their private chat with the bot
    *(
        Command(key, vi, en, scope="admin", private_only=True, channel=True)
        for key, vi, en in (
            ("upload", "tailen", "upload"),
            ("history", "lichsu", "history"),
            ("undo", "hoantac", "undo"),
            ("announce", "thongbao", "announce"),
            ("status", "trangthai", "status"),
            ("backup", "saoluu", "backup"),
            ("admins", "quantri", "admins"),
            ("template", "mau", "template"),
        )
    ),
)

BY_KEY: dict[str, Command] = {c.key: c for c in COMMANDS}
# folded word(s) → command; a name is never shared by two commands (tests/test_commands.py)
BY_NAME: dict[str, Command] = {name: c for c in COMMANDS for name in c.names}


def menu(scope: Scope) -> list[Command]:
    """The commands a menu lists, in the table's order: everyone's, then (for an
    admin's own chat) the admin ones after them."""
    wanted = ("everyone",) if scope == "everyone" else ("everyone", "admin")
    return [c for c in COMMANDS if c.in_menu and c.scope in wanted]


def telegram_names(command: Command) -> list[str]:
    """The /names a Telegram CommandHandler listens to (ASCII, no spaces)."""
    return [n for n in command.names if " " not in n]
