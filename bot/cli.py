"""The offline side of the bot: console, file import, start-up checks."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import ValidationError

from bot.announcements import (
    finish_announcements,
    queue_version,
    ready_retractions,
    retraction_lines,
)
from bot.answers import Answers
from bot.backup import BackupError, refuse_damaged
from bot.backup import restore as restore_backup
from bot.console import Console
from bot.i18n import Translator
from bot.reply import to_plain
from bot.settings import Settings
from bot.uploads import build_preview, problem_lines, reader_message
from ranking.catalog import load_catalog
from ranking.importer import ImportFailed
from ranking.publishing import load_shipped_data, publish_upload, read_upload
from ranking.queries import Rankings
from ranking.reader import ReadProblem
from ranking.store import AlreadyImported, Store, StoreError
from ranking.text import expand

DESCRIPTION = "Lào Cai digital-transformation ranking bot"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SystemExit(f"error: {first.get('loc', [''])[0]}: {first['msg']}") from None


@asynccontextmanager
async def open_rankings(settings: Settings) -> AsyncIterator[Rankings]:
    """The store, migrated and holding the shipped data, with its queries."""
    refuse_damaged(settings.db_path)
    try:
        store = await Store.open(settings.db_path)
    except StoreError as exc:
        raise SystemExit(f"error: {settings.db_path}: {exc}") from None
    try:
        catalog = load_catalog()
        await load_shipped_data(store, catalog, settings.data_dir)
        rankings = Rankings(store, catalog)
        await finish_announcements(rankings)  # a crash may have left one unrendered
        yield rankings
    finally:
        await store.close()


def ask(text: str | None, *, lang: str = "vi") -> int:
    settings = load_settings()

    async def main() -> None:
        async with open_rankings(settings) as rankings:
            console = Console(Answers(rankings), lang=lang)
            if text is not None:
                printed = await console.say(text)
                if printed is not None:
                    print(printed)
                return
            print(Translator(console.lang)("console.welcome"))
            while True:
                try:
                    line = await asyncio.to_thread(input, "> ")
                except EOFError:
                    print()
                    return
                printed = await console.say(line)
                if printed is not None:
                    print(printed)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # Ctrl-C ends the console, as Ctrl-D does
        print()
    except BrokenPipeError:  # `… | head -1` closed the pipe: nothing more to say
        # stdout is gone; point it at nothing so the interpreter's final flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def decide_near_names(
    near: list[tuple[str, str, str]], same: Sequence[str], new: Sequence[str]
) -> tuple[dict[tuple[str, str], str], list[str]]:
    """The admin's word on each name close to a unit on record: `--same NEW=KNOWN`
    (the same unit: an alias) or `--new NAME` (another unit). Returns the aliases and
    the names nobody decided ("NEW=KNOWN" as they would be written)."""
    said_same = {}
    for pair in same:
        left, _, right = pair.partition("=")
        said_same[expand(left)] = expand(right)
    said_new = {expand(name) for name in new}
    aliases: dict[tuple[str, str], str] = {}
    undecided = []
    for ranking, new_key, known_key in near:
        if said_same.get(new_key) == known_key:
            aliases[(ranking, new_key)] = known_key
        elif new_key not in said_new:
            undecided.append(f"{new_key}={known_key}")
    return aliases, undecided


def import_file(
    file_name: str, *, dry_run: bool, same: Sequence[str] = (), new: Sequence[str] = ()
) -> int:
    settings = load_settings()
    t = Translator("vi")
    path = Path(file_name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(t("import.cannot_read", file=file_name, reason=exc.strerror or str(exc)))
        return 2

    async def main() -> int:
        async with open_rankings(settings) as rankings:
            try:
                upload = await read_upload(data, path.name, rankings.catalog)
            except ReadProblem as problem:
                print(to_plain(reader_message(problem, t)))
                return 1
            except ImportFailed as failed:
                print(t.plural("import.refused", len(failed.problems)))
                print("\n".join(problem_lines(failed.problems, t)))
                return 1
            if await rankings.store.scores.version_by_sha(upload.sha256):
                print(t("import.identical"))
                return 0
            if await rankings.store.scores.version_with_content(upload.dataset.content_digest):
                print(t("import.same_content", rows=upload.dataset.rows))
                return 0
            preview = await build_preview(upload.dataset, rankings, t, file_name=path.name)
            print(to_plain(preview.html.rsplit("\n\n", 1)[0]))
            aliases, undecided = decide_near_names(preview.near_names, same, new)
            if undecided:
                # a name close to one on record: the same unit or a new one? never guessed
                print(t("import.cli_near_undecided", names=", ".join(undecided)))
                return 1
            if dry_run:
                print(t("import.dry_run"))
                return 0
            try:
                published = await publish_upload(
                    rankings.store,
                    upload,
                    uploaded_by=None,
                    aliases=aliases,
                    unless_known="live",  # another import of this file may have won meanwhile
                )
            except AlreadyImported:
                print(t("import.identical"))
                return 0
            version = published.version_id
            print(t("import.done", version=version))
            # Written with the version; its texts now. The running bot's outbox picks
            # it up (it re-reads the queue every minute).
            announcement = await queue_version(rankings, version, None)
            await ready_retractions(rankings, published.retracted)
            for line in retraction_lines(published.retracted, t):
                print(to_plain(line))
            if announcement is not None:
                waiting = await rankings.store.outbox.announcement_status(announcement)
                if waiting.get("pending"):
                    print(t.plural("import.announced", waiting["pending"]))
            return 0

    return asyncio.run(main())


def restore(file_name: str, *, force: bool) -> int:
    """`python -m bot restore FILE [--force]`: the bot must be stopped."""
    settings = load_settings()
    t = Translator("vi")
    try:
        restore_backup(Path(file_name), settings.db_path, force=force)
    except BackupError as exc:
        print(to_plain(t(exc.key, **{k: str(v) for k, v in exc.params.items()})), file=sys.stderr)
        return 1
    print(t("restore.done", file=file_name, db=settings.db_path))
    return 0


def run() -> int:
    """`python -m bot run`: every channel whose token is set (bot/service.py)."""
    settings = load_settings()
    # the channels' stacks (python-telegram-bot, tornado) are imported only when running
    from bot.service import run as run_channels

    return run_channels(settings)
