"""bot/settings.py: the variables, where they are read from and in which order, and
what a bad value says (the plain reader that replaced pydantic-settings)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.settings import FIELDS, Secret, Settings, SettingsError
from ranking.catalog import load_catalog

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of the bot from the test's own environment, and a working
    directory without a .env file."""
    for variable, _, _ in FIELDS.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)


def test_the_defaults() -> None:
    settings = Settings()
    assert settings.token() is None and settings.zalo_token() is None
    assert settings.db_path == "rankbot.sqlite3"
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.admin_ids == frozenset()
    assert (settings.webhook_port, settings.request_timeout) == (8443, 15.0)
    assert (settings.backup_keep, settings.flood_per_minute, settings.flood_burst) == (14, 30, 10)
    assert settings.data_dir is None and settings.webhook_secret is None
    assert settings.zalo_sends_per_second == 4.0 and settings.zalo_webhook_port == 8444


def test_arguments_win_over_the_environment_which_wins_over_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "RANKBOT_DB=from-file.sqlite3\nexport RANKBOT_BACKUP_KEEP=5\n"
        "RANKBOT_FLOOD_BURST='7'  # a comment\nSOMETHING_ELSE=1\n",
        encoding="utf-8",
    )
    assert Settings().db_path == "from-file.sqlite3"
    assert (Settings().backup_keep, Settings().flood_burst) == (5, 7)
    monkeypatch.setenv("RANKBOT_DB", "from-env.sqlite3")
    assert Settings().db_path == "from-env.sqlite3"
    assert Settings(RANKBOT_DB="given.sqlite3").db_path == "given.sqlite3"
    assert Settings(db_path="by-field.sqlite3").db_path == "by-field.sqlite3"
    assert Settings(_env_file=None).backup_keep == 14  # the file not read


def test_variable_names_match_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("rankbot_admin_ids", "1, 2")
    assert Settings().admin_ids == frozenset({1, 2})


def test_values_are_converted_and_an_empty_token_is_unset() -> None:
    settings = Settings(
        TELEGRAM_BOT_TOKEN=" ",
        ZALO_BOT_TOKEN="1:secret",
        RANKBOT_REQUEST_TIMEOUT="2.5",
        RANKBOT_WEBHOOK_PORT=" 8080 ",
        RANKBOT_DATA_DIR="data",
        RANKBOT_ZALO_ADMIN_IDS="abc,d-1",
    )
    assert settings.token() is None and settings.zalo_token() == "1:secret"
    assert (settings.request_timeout, settings.webhook_port) == (2.5, 8080)
    assert settings.data_dir == Path("data")
    assert settings.zalo_admin_ids == frozenset({"abc", "d-1"})


def test_a_secret_never_shows_in_a_repr() -> None:
    settings = Settings(TELEGRAM_BOT_TOKEN=TOKEN, RANKBOT_WEBHOOK_SECRET="s3cret-value")
    assert TOKEN not in repr(settings) and "s3cret-value" not in repr(settings)
    assert str(settings.webhook_secret) == "**********"
    assert settings.token() == TOKEN
    assert not Secret("") and Secret("x") == Secret("x")


@pytest.mark.parametrize(
    ("values", "variable", "says"),
    [
        ({"RANKBOT_ADMIN_IDS": "12,abc"}, "RANKBOT_ADMIN_IDS", "numeric user ids"),
        ({"RANKBOT_ADMIN_IDS": "777000"}, "RANKBOT_ADMIN_IDS", "service ids [777000]"),
        ({"RANKBOT_ZALO_ADMIN_IDS": "a b"}, "RANKBOT_ZALO_ADMIN_IDS", "Zalo user ids"),
        ({"ZALO_WEBHOOK_SECRET": "short"}, "ZALO_WEBHOOK_SECRET", "8 to 256"),
        ({"RANKBOT_BACKUP_KEEP": "0"}, "RANKBOT_BACKUP_KEEP", "at least 1"),
        ({"RANKBOT_FLOOD_PER_MINUTE": "x"}, "RANKBOT_FLOOD_PER_MINUTE", "a whole number"),
        ({"RANKBOT_REQUEST_TIMEOUT": "0"}, "RANKBOT_REQUEST_TIMEOUT", "greater than 0"),
        ({"ZALO_WEBHOOK_PORT": "70000"}, "ZALO_WEBHOOK_PORT", "at most 65535"),
        ({"ZALO_SENDS_PER_SECOND": "nan"}, "ZALO_SENDS_PER_SECOND", "a number"),
        (
            {"RANKBOT_WEBHOOK_URL": "https://bot.example.org/hook"},
            "RANKBOT_WEBHOOK_SECRET",
            "required when RANKBOT_WEBHOOK_URL is set",
        ),
    ],
)
def test_a_bad_value_names_its_variable(values: dict[str, str], variable: str, says: str) -> None:
    with pytest.raises(SettingsError, match=variable) as caught:
        Settings(**values)
    assert caught.value.name == variable and says in str(caught.value)


def test_a_bad_value_in_dotenv_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RANKBOT_BACKUP_KEEP=many\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="RANKBOT_BACKUP_KEEP"):
        Settings()


def test_replace_converts_and_checks_like_the_start() -> None:
    settings = Settings(RANKBOT_DB="a.sqlite3")
    changed = settings.replace(request_timeout="0.5", RANKBOT_BACKUP_DIR="b")
    assert (changed.request_timeout, changed.backup_dir) == (0.5, "b")
    assert settings.request_timeout == 15.0 and settings.backup_dir is None  # a copy
    with pytest.raises(SettingsError):
        settings.replace(RANKBOT_WEBHOOK_URL="https://bot.example.org/hook")
    with pytest.raises(TypeError, match="unknown setting"):
        settings.replace(no_such_setting=1)


def test_the_catalog_records_keep_what_pydantic_made_of_the_toml() -> None:
    catalog = load_catalog()
    levels = catalog.levels(catalog.default_ranking)
    assert all(isinstance(level.above, Decimal) for level in levels)
    assert [str(level.above) for level in levels][:3] == ["0.75", "0.50", "0.25"]
    dti = catalog.rankings["dti"]
    assert isinstance(dti.aliases, tuple) and isinstance(dti.publishers, tuple)
    assert dti.publisher(2024) is not None and dti.publisher(2024).from_year == 2024  # type: ignore[union-attr]
    group = catalog.groups["huyen"]
    assert isinstance(group.aliases, tuple)
    with pytest.raises(AttributeError):
        group.code = "x"  # type: ignore[misc]
