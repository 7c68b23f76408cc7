"""The offline side of the bot: console, file import, start-up checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.announcements import (
    finish_announcements,
    queue_version,
    ready_retractions,
    retraction_lines,
)
from bot.answers import Answers
from bot.backup import BackupError, refuse_damaged
from bot.backup import restore as restore_backup
from bot.i18n import Translator
from bot.reply import to_plain
from bot.settings import Settings, SettingsError
from bot.uploads import build_preview, problem_lines, reader_message
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data, publish_upload, read_upload
from ranking.queries import Rankings
from ranking.store import AlreadyImported, Store, StoreError
from ranking.text import expand

DESCRIPTION = "Lào Cai digital-transformation ranking bot"


def load_settings() -> Settings:
    try:
        return Settings()
    except SettingsError as exc:
        raise SystemExit(f"error: {exc}") from None


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
    """One reply to `text`, or a console until Ctrl-D, Ctrl-C or a closed stdin; a
    closed stdout (`… | head -1`) ends it too. Every way out is quiet, exit 0."""
    # the console's module only for the console, not with every `python -m bot run`
    from bot.console import Console

    settings = load_settings()
    try:
        # one loop for the whole conversation; it runs only while a reply is made, and
        # the next line is awaited in the main thread (_Lines), where Ctrl-C ends it
        with asyncio.Runner() as runner:
            run = runner.run
            stack = contextlib.AsyncExitStack()
            try:
                rankings = run(stack.enter_async_context(open_rankings(settings)))
                console = Console(Answers(rankings), lang=lang)
                if text is not None:
                    _show(run(console.say(text)))
                    if console.lang != lang:  # "/lang en" lasts one call: say how
                        t = Translator(console.lang)
                        _show(t("console.lang_one_shot", lang=console.lang))
                    return 0
                _show(Translator(lang)("console.welcome"))
                lines = _Lines()
                while (line := lines.read("> ")) is not None:
                    _show(run(console.say(line)))
                _show("")  # Ctrl-D: end the prompt's line
            finally:
                run(stack.aclose())
    except KeyboardInterrupt:  # Ctrl-C ends the console, as Ctrl-D does
        with contextlib.suppress(OSError):
            _show("")
    except BrokenPipeError:  # `… | head -1` closed the pipe: nothing more to say
        # stdout is gone; point it at nothing so the interpreter's final flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _show(text: str | None) -> None:
    if text is not None:
        print(text, flush=True)  # a closed pipe fails here, inside ask's handler


class _Lines:
    """The lines typed on stdin, read so that Ctrl-C always ends the wait at once.

    input() can miss a Ctrl-C that lands between its prompt and its read(): the
    signal is taken, and the read then waits for a line. Here the wait is a select()
    on stdin and on the signal module's wakeup pipe, which the signal writes to
    whenever it lands, so the KeyboardInterrupt is raised as soon as the select()
    returns. A closed stdin (`0<&-`) is the end of the input, as Ctrl-D is.
    """

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno() if sys.stdin is not None and not sys.stdin.closed else -1
        self.pending = b""
        self.ended = self.fd < 0
        self.wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)

    def read(self, prompt: str) -> str | None:
        """The next line without its end; None at the end of the input."""
        if not self.ended:
            print(prompt, end="", flush=True)
        while b"\n" not in self.pending and not self.ended:
            ready, _, _ = select.select([self.fd, self.wake_read], [], [])
            if self.wake_read in ready:
                os.read(self.wake_read, 512)  # a signal: Ctrl-C raises on the next line
            if self.fd in ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the terminal went away
                    chunk = b""
                self.pending += chunk
                self.ended = not chunk
        if not self.pending:
            return None
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8", errors="replace").rstrip("\r")


def has_token() -> int:
    """`python -m bot has-token`: 0 when a channel's token is set (in the environment
    or .env, read as `run` reads it), 1 when none is, 2 when the settings are invalid;
    scripts/run asks this, so it never disagrees with the bot about .env."""
    try:
        settings = Settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if settings.token() or settings.zalo_token() else 1


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

    # the reader's and the importer's exceptions: those modules load for an import,
    # not with every `python -m bot run`
    from ranking.importer import ImportFailed
    from ranking.reader import ReadProblem

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
