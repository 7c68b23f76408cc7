"""Backups and restore of the SQLite store, with the stdlib's online backup API.

Why the backup API and not a file copy: copying the database file while a
transaction is open, or without its -wal file, gives a corrupt or stale copy
(sqlite.org/howtocorrupt.html). `sqlite3.Connection.backup` copies pages under
SQLite's own locking. It is run with ``pages=-1``, in one step: in WAL mode that
step holds only a read snapshot, so the bot's writer keeps writing, and the copy
is exactly one committed state (a multi-step backup would restart whenever
another connection writes).

Why synchronous functions: they use their own `sqlite3` connections, never the
store's aiosqlite ones; the bot calls them with `asyncio.to_thread`.

Every copy is written to a temporary file in the destination folder, checked
with ``PRAGMA integrity_check``, fsynced, then renamed over the final name with
`os.replace` (atomic on POSIX and Windows), and the folder is fsynced: after a
crash there is either the old file or the complete new one. Copies are switched
to ``journal_mode=DELETE`` so a backup is one self-contained file.

Errors are `BackupError(key, params)`: message keys for the catalogs, no text.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.i18n import Translator
from ranking.store import SCHEMA_VERSION

BACKUP_PREFIX = "rankbot-"
BACKUP_SUFFIX = ".sqlite3"
BACKUP_NAME = re.compile(r"^rankbot-(\d{8})-(\d{6})\.sqlite3$")
SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = ("versions", "scores")
BUSY_TIMEOUT_MS = 10_000


class BackupError(Exception):
    """A backup or restore refused; `key` names the catalog message, `params` fill it."""

    def __init__(self, key: str, params: dict[str, str | int] | None = None) -> None:
        super().__init__(key, params or {})
        self.key = key
        self.params: dict[str, str | int] = params or {}


def backup_name(when: datetime | None = None) -> str:
    """rankbot-YYYYmmdd-HHMMSS.sqlite3 in UTC: names sort by age."""
    when = when or datetime.now(UTC)
    return f"{BACKUP_PREFIX}{when.astimezone(UTC):%Y%m%d-%H%M%S}{BACKUP_SUFFIX}"


def _connect(path: str | Path, *, mode: str = "rw") -> sqlite3.Connection:
    """A plain connection that never creates a missing database (URI mode)."""
    uri = Path(path).resolve().as_uri() + f"?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


@contextlib.contextmanager
def _closing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield conn
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, pragma: str) -> str:
    """integrity_check / quick_check as one string: "ok" or the problems, one a line."""
    rows = conn.execute(f"PRAGMA {pragma}").fetchall()
    return "\n".join(str(row[0]) for row in rows)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; not possible (nor needed) on Windows."""
    if os.name != "posix":  # pragma: no cover
        return
    _fsync_file(folder)


def _temp_next_to(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def _copy_into(source: sqlite3.Connection, temp: Path) -> sqlite3.Connection:
    """Backup-API copy of `source` into `temp` (one step); returns the open copy."""
    dest = sqlite3.connect(temp, isolation_level=None)
    try:
        source.backup(dest, pages=-1)
        dest.execute("PRAGMA journal_mode = DELETE")
    except BaseException:
        dest.close()
        raise
    return dest


def _drop_pending_uploads(copy: sqlite3.Connection) -> None:
    """A backup carries no uploaded file waiting for its ✅: those bytes are not
    published data, and a restored preview could not be confirmed anyway. VACUUM
    so that the bytes leave the file, not only the rows."""
    tables = {
        str(row[0]) for row in copy.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
    }
    if "pending_actions" not in tables:
        return
    copy.execute(
        "UPDATE pending_actions"
        " SET payload = NULL,"
        "     state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END"
        " WHERE payload IS NOT NULL OR state = 'pending'"
    )
    copy.execute("VACUUM")


def backup_to(db_path: str, target: Path) -> Path:
    """Copy the live database to `target` (a folder: a new rankbot-….sqlite3 in
    it; else the file to write) and return the file written.

    Raises BackupError("backup.no_database") when there is no database, and
    BackupError("backup.integrity_failed", {"detail"}) when the copy fails
    integrity_check (the source is then likely damaged: the partial copy is
    removed, any older backup is left alone).
    """
    if not Path(db_path).is_file():
        raise BackupError("backup.no_database", {"path": db_path})
    final = target / backup_name() if target.is_dir() else target
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_next_to(final)
    try:
        try:
            with _closing(_connect(db_path)) as source, _closing(_copy_into(source, temp)) as copy:
                _drop_pending_uploads(copy)
                detail = _check(copy, "integrity_check")
        except sqlite3.DatabaseError as exc:
            raise BackupError("backup.failed", {"detail": str(exc)}) from exc
        if detail != "ok":
            raise BackupError("backup.integrity_failed", {"detail": detail.splitlines()[0]})
        _fsync_file(temp)
        os.replace(temp, final)
        _fsync_dir(final.parent)
    finally:
        temp.unlink(missing_ok=True)
    return final


TEMP_FOLDER_PREFIX = "rankbot-backup-"  # /saoluu's folder in the system's temp folder
_TEMP_FOLDER = re.compile(r"^rankbot-backup-(\d+)-")
_TEMP_COPY = re.compile(r"^\.rankbot-\d{8}-\d{6}\.sqlite3\..+\.tmp$")


def temp_folder_prefix() -> str:
    """/saoluu's temporary folder names carry the process id, so a sweep can tell
    a dead process's leftovers from a live one's work."""
    return f"{TEMP_FOLDER_PREFIX}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_leftovers(temp_root: Path, backup_folder: Path | None = None) -> list[Path]:
    """At start: what a killed /saoluu or nightly backup left behind — a full copy
    of the database each. /saoluu folders of processes no longer running in
    `temp_root`, and half-written copies in `backup_folder` (only this process
    writes there, and at start it is not writing). Returns what was removed."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in temp_root.iterdir():
            m = _TEMP_FOLDER.match(entry.name)
            if m and entry.is_dir() and not entry.is_symlink() and not _alive(int(m[1])):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    if backup_folder is not None and backup_folder.is_dir():
        with contextlib.suppress(OSError):
            for entry in backup_folder.iterdir():
                if _TEMP_COPY.match(entry.name) and entry.is_file():
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
    return removed


def backups_in(folder: Path) -> list[Path]:
    """The backup files in `folder`, oldest first (by the time in their name)."""
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if BACKUP_NAME.match(p.name) and p.is_file()),
        key=lambda p: p.name,
    )


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `folder`; returns the deleted files.

    Only files named like rankbot-YYYYmmdd-HHMMSS.sqlite3 are considered, so
    anything else an admin keeps there is never touched. keep < 1 is refused:
    rotation must never delete the only backup.
    """
    if keep < 1:
        raise ValueError("keep must be ≥ 1")
    old = backups_in(folder)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def quick_check(db_path: str) -> str:
    """PRAGMA quick_check of a database file: "ok", or what is wrong (for logs and
    the CLI; not user text). Never creates a file."""
    try:
        with _closing(_connect(db_path)) as conn:
            return _check(conn, "quick_check")
    except sqlite3.DatabaseError as exc:
        return str(exc)


def _open_backup(backup: Path) -> sqlite3.Connection:
    """Read the backup without changing anything next to it.

    A raw copy of a closed store is in WAL mode: opened read-only it would still
    get -wal/-shm files created beside it. Without a -wal beside it the file is
    opened immutable (no locks, no side files); with one (copied together with
    its WAL) it is opened read-only so the WAL's commits are read too.
    """
    if Path(f"{backup}-wal").exists():
        return _connect(backup, mode="ro")
    uri = backup.resolve().as_uri() + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def _validate(conn: sqlite3.Connection) -> None:
    """A restorable copy: intact, written by a schema this program knows, ours."""
    detail = _check(conn, "integrity_check")
    if detail != "ok":
        raise BackupError("restore.corrupt", {"detail": detail.splitlines()[0]})
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise BackupError("restore.newer_schema", {"version": version, "known": SCHEMA_VERSION})
    tables = {
        str(row[0]) for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
    }
    if version < 1 or not set(REQUIRED_TABLES) <= tables:
        raise BackupError("restore.not_rankbot")


def _release_target(db_path: Path) -> None:
    """Make sure nothing else uses the current database, and fold its WAL in.

    Why: a -wal file left next to the restored file would be replayed onto it
    and corrupt it, but deleting the -wal of a database another process has
    open corrupts *that* process's view. So the -wal/-shm are never deleted by
    hand: switching the current database to journal_mode=DELETE makes SQLite
    itself checkpoint the WAL into it and delete both files, and SQLite does that
    only with exclusive access, failing with "database is locked" while the bot
    (or anything else) has the database open. If the current file is not even
    a database (the reason to restore), its -wal cannot be folded in and
    nothing proves it is unused: the caller must pass force=True after stopping
    the bot, and the stale -wal/-shm are then deleted.
    """
    conn = _connect(db_path)
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        row = conn.execute("PRAGMA journal_mode = DELETE").fetchone()
        if row is None or str(row[0]).lower() != "delete":
            raise BackupError("restore.in_use")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError("restore.in_use") from exc
        raise BackupError("restore.target_unreadable", {"detail": str(exc)}) from exc
    except sqlite3.DatabaseError as exc:
        raise BackupError("restore.target_unreadable", {"detail": str(exc)}) from exc
    finally:
        conn.close()


def restore(backup: Path, db_path: str, *, force: bool = False) -> None:
    """Put `backup` in place of the database at `db_path` (`python -m bot restore FILE`).

    The bot must be stopped. The backup is checked before anything is touched:
    an SQLite file ("restore.not_sqlite"), intact ("restore.corrupt"), of a
    schema this program knows ("restore.newer_schema", "restore.not_rankbot").
    It is then copied with the backup API into a temporary file next to
    `db_path`, checked again there (what is checked is what goes in place),
    fsynced and moved over `db_path` with os.replace. See `_release_target` for
    the -wal/-shm of the current database and what `force` does.
    """
    if not backup.is_file():
        raise BackupError("restore.missing", {"file": str(backup)})
    with backup.open("rb") as fh:
        if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError("restore.not_sqlite", {"file": backup.name})
    target = Path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_next_to(target)
    try:
        try:
            with (
                _closing(_open_backup(backup)) as source,
                _closing(_copy_into(source, temp)) as copy,
            ):
                _validate(copy)
        except sqlite3.DatabaseError as exc:
            raise BackupError("restore.corrupt", {"detail": str(exc)}) from exc
        _fsync_file(temp)
        if target.exists():
            try:
                _release_target(target)
            except BackupError as exc:
                if not (force and exc.key == "restore.target_unreadable"):
                    raise
        for suffix in ("-wal", "-shm", "-journal"):
            # after _release_target SQLite has removed these; with force they are stale
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        os.replace(temp, target)
        _fsync_dir(target.parent)
    finally:
        temp.unlink(missing_ok=True)


def refuse_damaged(db_path: str) -> None:
    """Exit with one clear line when the database file fails PRAGMA quick_check:
    the bot never answers from, or writes into, a damaged store."""
    if db_path != ":memory:" and Path(db_path).is_file():
        detail = quick_check(db_path)
        if detail != "ok":
            line = detail.splitlines()[0] if detail else "?"
            raise SystemExit(Translator("vi")("startup.corrupt", db=db_path, detail=line))
