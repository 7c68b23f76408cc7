"""Settings from the environment or a .env file.

A plain reader of the few variables below, not pydantic-settings: that library and
pydantic behind it cost the start of every process ≈ 9 MB and a tenth of a second
for a dozen strings and numbers. What it did is kept: a keyword argument (by
variable or field name) wins over the environment, which wins over `.env` in the
working directory (read by python-dotenv, the parser pydantic-settings used, so
`export X=…`, quotes and comments mean what they meant); variable names match in
any case; other variables are ignored. A bad value is a `SettingsError` naming
the variable.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

TOKEN_PATTERN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
# Telegram's anonymous-group-admin and service accounts: never admins.
FORBIDDEN_ADMIN_IDS = {1087968824, 777000}
ENV_FILE = ".env"


class SettingsError(ValueError):
    """A variable's value is not usable: `name` is the variable, the message says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class Secret:
    """A token or secret: printed as stars (in reprs, logs and tracebacks), read with
    get_secret_value(); empty is false, like pydantic's SecretStr it replaces."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""


Convert = Callable[[str, object], object]


def _text(name: str, value: object) -> object:
    if isinstance(value, str | Path):
        return str(value)
    raise SettingsError(name, "must be text")


def _optional_text(name: str, value: object) -> object:
    return None if value is None else _text(name, value)


def _path(name: str, value: object) -> object:
    return None if value is None else Path(str(_text(name, value)))


def _secret(name: str, value: object) -> object:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(str(_text(name, value)))


def _token(name: str, value: object) -> object:
    """A token or the Zalo webhook's secret: empty or blank is unset."""
    if isinstance(value, str) and not value.strip():
        return None
    return _secret(name, value)


def _number(
    kind: type[int] | type[float], low: float | None, high: float | None, *, above: bool
) -> Convert:
    """A number of `kind` at least `low` (above it when `above`) and at most `high`."""

    def convert(name: str, value: object) -> object:
        number: int | float
        try:
            if isinstance(value, bool):
                raise ValueError
            if kind is int:
                as_float = float(value) if isinstance(value, float) else None
                if as_float is not None:
                    if not as_float.is_integer():
                        raise ValueError
                    number = int(as_float)
                else:
                    number = int(str(value).strip())
            else:
                number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
                if math.isnan(number):
                    raise ValueError
        except (TypeError, ValueError):
            what = "a whole number" if kind is int else "a number"
            raise SettingsError(name, f"must be {what}, not {value!r}") from None
        if low is not None and (number <= low if above else number < low):
            raise SettingsError(name, f"must be {'greater than' if above else 'at least'} {low:g}")
        if high is not None and number > high:
            raise SettingsError(name, f"must be at most {high:g}")
        return number

    return convert


def _admin_ids(name: str, value: object) -> object:
    if isinstance(value, str):
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not all(re.fullmatch(r"\d{1,20}", i) for i in ids):
            raise SettingsError(name, f"{name} must be comma-separated numeric user ids")
        value = {int(i) for i in ids}
    if isinstance(value, set | frozenset | list | tuple):
        bad = FORBIDDEN_ADMIN_IDS & set(value)
        if bad:
            raise SettingsError(name, f"{name} must not contain service ids {sorted(bad)}")
        return frozenset(value)
    raise SettingsError(name, "must be comma-separated numeric user ids")


def _zalo_admin_ids(name: str, value: object) -> object:
    if isinstance(value, str):
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids):
            raise SettingsError(
                name,
                f"{name} must be comma-separated Zalo user ids"
                " (letters and digits, as the bot shows them)",
            )
        return frozenset(ids)
    if isinstance(value, set | frozenset | list | tuple):
        return frozenset(str(i) for i in value)
    raise SettingsError(name, "must be comma-separated Zalo user ids")


def _zalo_secret(name: str, value: object) -> object:
    secret = _token(name, value)
    # setWebhook takes 8 to 256 characters; it travels in an HTTP header
    raw = secret.get_secret_value() if isinstance(secret, Secret) else None
    if raw is not None and not (8 <= len(raw) <= 256 and raw.isascii() and raw.isprintable()):
        raise SettingsError(name, f"{name} must be 8 to 256 printable ASCII characters")
    return secret


# field name → (variable, default, conversion of a given value)
FIELDS: dict[str, tuple[str, object, Convert]] = {
    "telegram_bot_token": ("TELEGRAM_BOT_TOKEN", None, _token),
    "telegram_api_base_url": (
        "TELEGRAM_API_BASE_URL",
        "https://api.telegram.org/bot",
        _text,
    ),
    "telegram_file_base_url": (
        "TELEGRAM_FILE_BASE_URL",
        "https://api.telegram.org/file/bot",
        _text,
    ),
    "db_path": ("RANKBOT_DB", "rankbot.sqlite3", _text),
    "data_dir": ("RANKBOT_DATA_DIR", None, _path),
    "admin_ids": ("RANKBOT_ADMIN_IDS", frozenset(), _admin_ids),
    "webhook_url": ("RANKBOT_WEBHOOK_URL", None, _optional_text),
    "webhook_port": ("RANKBOT_WEBHOOK_PORT", 8443, _number(int, None, None, above=False)),
    "webhook_secret": ("RANKBOT_WEBHOOK_SECRET", None, _secret),
    "request_timeout": ("RANKBOT_REQUEST_TIMEOUT", 15.0, _number(float, 0, None, above=True)),
    "backup_dir": ("RANKBOT_BACKUP_DIR", None, _optional_text),
    "backup_keep": ("RANKBOT_BACKUP_KEEP", 14, _number(int, 1, None, above=False)),
    "flood_per_minute": ("RANKBOT_FLOOD_PER_MINUTE", 30, _number(int, 0, None, above=False)),
    "flood_burst": ("RANKBOT_FLOOD_BURST", 10, _number(int, 1, None, above=False)),
    "zalo_bot_token": ("ZALO_BOT_TOKEN", None, _token),
    "zalo_api_base_url": ("ZALO_API_BASE_URL", "https://bot-api.zaloplatforms.com/bot", _text),
    "zalo_admin_ids": ("RANKBOT_ZALO_ADMIN_IDS", frozenset(), _zalo_admin_ids),
    "zalo_webhook_url": ("ZALO_WEBHOOK_URL", None, _optional_text),
    "zalo_webhook_listen": ("ZALO_WEBHOOK_LISTEN", "0.0.0.0", _text),
    "zalo_webhook_port": ("ZALO_WEBHOOK_PORT", 8444, _number(int, 0, 65535, above=False)),
    "zalo_webhook_secret": ("ZALO_WEBHOOK_SECRET", None, _zalo_secret),
    "zalo_bot_name": ("ZALO_BOT_NAME", None, _optional_text),
    "zalo_sends_per_second": ("ZALO_SENDS_PER_SECOND", 4.0, _number(float, 0, 30, above=True)),
}
_BY_VARIABLE = {variable.lower(): field for field, (variable, _, _) in FIELDS.items()}


def _environment(env_file: str | Path | None) -> dict[str, str]:
    """Variables by lower-cased name: the process environment over the .env file."""
    found: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        # python-dotenv only when there is a file: most starts have none
        from dotenv import dotenv_values

        for key, value in dotenv_values(env_file).items():
            if value is not None:  # a bare `NAME` line sets nothing
                found[key.lower()] = value
    found.update((key.lower(), value) for key, value in os.environ.items())
    return found


class Settings:
    """`Settings()` reads the environment and .env; `Settings(RANKBOT_DB=…)` (or
    `db_path=…`) sets a value over them."""

    telegram_bot_token: Secret | None
    telegram_api_base_url: str
    telegram_file_base_url: str
    db_path: str
    # the data sets loaded on first start (default: the program's data/ folder)
    data_dir: Path | None
    admin_ids: frozenset[int]
    webhook_url: str | None
    webhook_port: int
    webhook_secret: Secret | None
    # seconds to wait for Telegram's answer to a request (not the long poll's own timeout)
    request_timeout: float
    # the daily backup's folder (default: "backups" beside the database) and how many to keep
    backup_dir: str | None
    backup_keep: int
    # per-user query limit: a burst at once, then this many per minute (0 = no limit)
    flood_per_minute: int
    flood_burst: int

    # ---- Zalo (bot/channels/zalo; docs/zalo.md) -----------------------------------------
    zalo_bot_token: Secret | None
    zalo_api_base_url: str
    # Zalo cannot tell a bot who a group's admins are: these Zalo user ids (the bot
    # tells a refused user theirs) may subscribe a group with /dangky
    zalo_admin_ids: frozenset[str]
    # set: a webhook (and chart pictures, which Zalo only takes by URL) served by the
    # bot's own HTTP server under this public HTTPS base; unset: long polling
    zalo_webhook_url: str | None
    zalo_webhook_listen: str
    zalo_webhook_port: int
    # optional: a random one is made at each start otherwise (setWebhook sends it anew)
    zalo_webhook_secret: Secret | None
    # the bot's name as Zalo shows it ("Bot …"), to take an @mention off a group message
    zalo_bot_name: str | None
    # Zalo publishes no rate limit: every send (replies and announcements) is paced at this
    zalo_sends_per_second: float

    def __init__(self, *, _env_file: str | Path | None = ENV_FILE, **values: object) -> None:
        given = _given(values)
        env = _environment(_env_file)
        for field, (variable, default, convert) in FIELDS.items():
            if field in given:
                value = convert(variable, given[field])
            elif variable.lower() in env:
                value = convert(variable, env[variable.lower()])
            else:
                value = default
            setattr(self, field, value)
        self._check()

    def replace(self, **values: object) -> Settings:
        """A copy with `values` (by variable or field name) set, checked as at start."""
        changed = copy.copy(self)
        for field, value in _given(values).items():
            variable, _, convert = FIELDS[field]
            setattr(changed, field, convert(variable, value))
        changed._check()
        return changed

    def _check(self) -> None:
        # without it anyone who finds the URL can post updates as if from Telegram
        if self.webhook_url and not (
            self.webhook_secret and self.webhook_secret.get_secret_value()
        ):
            raise SettingsError(
                "RANKBOT_WEBHOOK_SECRET",
                "RANKBOT_WEBHOOK_SECRET is required when RANKBOT_WEBHOOK_URL is set",
            )

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={getattr(self, field)!r}" for field in FIELDS)
        return f"Settings({shown})"

    def backup_folder(self) -> Path:
        if self.backup_dir and self.backup_dir.strip():
            return Path(self.backup_dir)
        return Path(self.db_path).resolve().parent / "backups"

    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    def zalo_token(self) -> str | None:
        return self.zalo_bot_token.get_secret_value() if self.zalo_bot_token else None


def _given(values: Mapping[str, object]) -> dict[str, object]:
    """Keyword arguments by field name, whether given by field or variable name."""
    given = {}
    for key, value in values.items():
        field = key if key in FIELDS else _BY_VARIABLE.get(key.lower())
        if field is None:
            raise TypeError(f"unknown setting {key!r}")
        given[field] = value
    return given
