"""The one command table: every name is unique, every derived view agrees with it."""

from __future__ import annotations

from bot.channels.telegram.app import CHANNEL_HANDLERS, admin_commands, menu_commands
from bot.commands import BY_NAME, COMMANDS, menu
from bot.i18n import LANGUAGES, Translator
from bot.parsing import COMMANDS as PARSER_WORDS
from bot.parsing import ChannelCommand, Parser
from ranking.catalog import Catalog


def test_no_name_means_two_commands() -> None:
    names = [n for c in COMMANDS for n in c.names]
    assert len(names) == len(set(names))
    assert len(BY_NAME) == len(names)


def test_the_parser_knows_every_name_of_every_command() -> None:
    assert {n: c.key for n, c in BY_NAME.items()} == PARSER_WORDS


def test_every_channel_command_has_its_telegram_handler() -> None:
    assert {c.key for c in COMMANDS if c.channel} == set(CHANNEL_HANDLERS)


def test_menus_follow_the_table_in_both_languages() -> None:
    for lang in LANGUAGES:
        t = Translator(lang)
        everyone = menu_commands(lang)
        assert [b.command for b in everyone] == [c.name(lang) for c in menu("everyone")]
        assert all(
            b.description == t(c.menu_key) for b, c in zip(everyone, menu("everyone"), strict=True)
        )
        admins = admin_commands(lang)
        assert admins[: len(everyone)] == everyone
        assert {b.command for b in admins[len(everyone) :]} == {
            c.name(lang) for c in COMMANDS if c.scope == "admin"
        }
    assert "start" not in {b.command for b in menu_commands("vi")}


def test_channel_commands_parse_as_such_with_or_without_diacritics(catalog: Catalog) -> None:
    parser = Parser(catalog)
    assert parser.parse("/dangky huyen") == ChannelCommand("subscribe", "huyen")
    assert parser.parse("/upload") == ChannelCommand("upload")
    # never as plain text: "mau" is not the template, "dangky" not a subscription
    assert not isinstance(parser.parse("mau"), ChannelCommand)
    assert not isinstance(parser.parse("dangky"), ChannelCommand)
