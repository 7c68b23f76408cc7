"""Settings from the environment or a .env file (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
# Telegram's anonymous-group-admin and service accounts: never admins.
FORBIDDEN_ADMIN_IDS = {1087968824, 777000}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    telegram_file_base_url: str = Field(
        default="https://api.telegram.org/file/bot", alias="TELEGRAM_FILE_BASE_URL"
    )
    db_path: str = Field(default="rankbot.sqlite3", alias="RANKBOT_DB")
    # the data sets loaded on first start (default: the program's data/ folder)
    data_dir: Path | None = Field(default=None, alias="RANKBOT_DATA_DIR")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="RANKBOT_ADMIN_IDS"
    )
    webhook_url: str | None = Field(default=None, alias="RANKBOT_WEBHOOK_URL")
    webhook_port: int = Field(default=8443, alias="RANKBOT_WEBHOOK_PORT")
    webhook_secret: SecretStr | None = Field(default=None, alias="RANKBOT_WEBHOOK_SECRET")
    # seconds to wait for Telegram's answer to a request (not the long poll's own timeout)
    request_timeout: float = Field(default=15.0, gt=0, alias="RANKBOT_REQUEST_TIMEOUT")
    # the daily backup's folder (default: "backups" beside the database) and how many to keep
    backup_dir: str | None = Field(default=None, alias="RANKBOT_BACKUP_DIR")
    backup_keep: int = Field(default=14, ge=1, alias="RANKBOT_BACKUP_KEEP")
    # per-user query limit: a burst at once, then this many per minute (0 = no limit)
    flood_per_minute: int = Field(default=30, ge=0, alias="RANKBOT_FLOOD_PER_MINUTE")
    flood_burst: int = Field(default=10, ge=1, alias="RANKBOT_FLOOD_BURST")

    # ---- Zalo (bot/channels/zalo; docs/zalo.md) -----------------------------------------
    zalo_bot_token: SecretStr | None = Field(default=None, alias="ZALO_BOT_TOKEN")
    zalo_api_base_url: str = Field(
        default="https://bot-api.zaloplatforms.com/bot", alias="ZALO_API_BASE_URL"
    )
    # Zalo cannot tell a bot who a group's admins are: these Zalo user ids (the bot
    # tells a refused user theirs) may subscribe a group with /dangky
    zalo_admin_ids: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="RANKBOT_ZALO_ADMIN_IDS"
    )
    # set: a webhook (and chart pictures, which Zalo only takes by URL) served by the
    # bot's own HTTP server under this public HTTPS base; unset: long polling
    zalo_webhook_url: str | None = Field(default=None, alias="ZALO_WEBHOOK_URL")
    zalo_webhook_listen: str = Field(default="0.0.0.0", alias="ZALO_WEBHOOK_LISTEN")
    zalo_webhook_port: int = Field(default=8444, ge=0, le=65535, alias="ZALO_WEBHOOK_PORT")
    # optional: a random one is made at each start otherwise (setWebhook sends it anew)
    zalo_webhook_secret: SecretStr | None = Field(default=None, alias="ZALO_WEBHOOK_SECRET")
    # the bot's name as Zalo shows it ("Bot …"), to take an @mention off a group message
    zalo_bot_name: str | None = Field(default=None, alias="ZALO_BOT_NAME")
    # Zalo publishes no rate limit: every send (replies and announcements) is paced at this
    zalo_sends_per_second: float = Field(default=4.0, gt=0, le=30, alias="ZALO_SENDS_PER_SECOND")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"\d{1,20}", i) for i in ids):
                raise ValueError("RANKBOT_ADMIN_IDS must be comma-separated numeric user ids")
            value = {int(i) for i in ids}
        if isinstance(value, set | frozenset | list | tuple):
            bad = FORBIDDEN_ADMIN_IDS & set(value)
            if bad:
                raise ValueError(f"RANKBOT_ADMIN_IDS must not contain service ids {sorted(bad)}")
            return frozenset(value)
        return value

    @field_validator("telegram_bot_token", "zalo_bot_token", "zalo_webhook_secret", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("zalo_admin_ids", mode="before")
    @classmethod
    def _split_zalo_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids):
                raise ValueError(
                    "RANKBOT_ZALO_ADMIN_IDS must be comma-separated Zalo user ids"
                    " (letters and digits, as the bot shows them)"
                )
            return frozenset(ids)
        return value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # setWebhook takes 8 to 256 characters; it travels in an HTTP header
        secret = value.get_secret_value() if value else None
        if secret is not None and not (
            8 <= len(secret) <= 256 and secret.isascii() and secret.isprintable()
        ):
            raise ValueError("ZALO_WEBHOOK_SECRET must be 8 to 256 printable ASCII characters")
        return value

    @model_validator(mode="after")
    def _webhook_needs_its_secret(self) -> Settings:
        # without it anyone who finds the URL can post updates as if from Telegram
        if self.webhook_url and not (
            self.webhook_secret and self.webhook_secret.get_secret_value()
        ):
            raise ValueError("RANKBOT_WEBHOOK_SECRET is required when RANKBOT_WEBHOOK_URL is set")
        return self

    def backup_folder(self) -> Path:
        if self.backup_dir and self.backup_dir.strip():
            return Path(self.backup_dir)
        return Path(self.db_path).resolve().parent / "backups"

    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    def zalo_token(self) -> str | None:
        return self.zalo_bot_token.get_secret_value() if self.zalo_bot_token else None
