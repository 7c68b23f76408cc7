"""What kind of failure a store error is, so that it can be named for what it is.

SQLite and the OS report a full disk, a read-only or locked database and a
missing folder each in their own words (sqlite3's message texts, errno); the
shell turns the kind into one clear message, the same for every statement that
hit it. Pure: no I/O.
"""

from __future__ import annotations

import errno
import sqlite3
from enum import Enum


class StoreFailure(Enum):
    DISK_FULL = "disk_full"
    READ_ONLY = "read_only"
    LOCKED = "locked"
    MISSING_FOLDER = "missing_folder"
    NOT_A_DATABASE = "not_a_database"


_SQLITE_TEXTS = (
    ("database or disk is full", StoreFailure.DISK_FULL),
    ("attempt to write a readonly database", StoreFailure.READ_ONLY),
    ("readonly database", StoreFailure.READ_ONLY),
    ("database is locked", StoreFailure.LOCKED),
    ("database table is locked", StoreFailure.LOCKED),
    ("unable to open database file", StoreFailure.MISSING_FOLDER),
    ("file is not a database", StoreFailure.NOT_A_DATABASE),
)
_ERRNOS = {
    errno.ENOSPC: StoreFailure.DISK_FULL,
    errno.EDQUOT: StoreFailure.DISK_FULL,
    errno.EROFS: StoreFailure.READ_ONLY,
    errno.EACCES: StoreFailure.READ_ONLY,
    errno.EPERM: StoreFailure.READ_ONLY,  # an immutable file
    errno.ENOENT: StoreFailure.MISSING_FOLDER,
}


def store_failure(error: BaseException | None) -> StoreFailure | None:
    """The kind of `error` (or of what caused it), None when it is none of these."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlite3.Error):
            text = str(error).lower()
            for words, kind in _SQLITE_TEXTS:
                if words in text:
                    return kind
        elif isinstance(error, OSError) and error.errno in _ERRNOS:
            return _ERRNOS[error.errno]
        error = error.__cause__ or error.__context__
    return None
