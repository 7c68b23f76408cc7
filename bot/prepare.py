"""A new database made ready in a second process while `python -m bot run` starts.

On a database file that does not exist yet, `python -m bot run` forks before it
imports its channels' code (python-telegram-bot is most of a start). The child
migrates the new database and publishes the shipped data sets into it, the same
`Store.open` and `load_shipped_data` the bot runs itself, on the other core: one
process could not do both at once, both being Python (the GIL). A fork, not a new
interpreter: the child has the modules the bot has loaded already, where a
`python -m …` would spend longer starting than the work takes (≈ 0.2 s against
≈ 0.06 s). The bot then waits for the child, opens the database and loads the
shipped data as on any start, which finds every file on record and costs what an
existing database's start costs.

It is only a head start. The child writes nothing to the terminal or the log, and
the bot reads none of its output: whatever goes wrong there (a folder it cannot
write, a kill), the bot's own `load_shipped_data` then does the work and reports
the problem as it always has. Each file is published in one transaction, so a
child stopped halfway leaves whole versions or none, and the bot's load completes
what it left.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from pathlib import Path

from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.store import Store

log = logging.getLogger("rankbot.prepare")

# the bot waits this long for the child, then stops it and does the work itself (the
# shipped data take ≈ 0.06 s there; a slow disk under a first start, a few seconds)
WAIT_S = 30.0
POLL_S = 0.002  # how often the wait looks at the child (os.waitpid has no timeout)


def needed(db_path: str) -> bool:
    """A database yet to be made (its file does not exist, it is not in memory), in a
    process that can fork safely: on a system that forks, with no thread but this."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    return db_path != ":memory:" and not Path(db_path).exists()


def start(db_path: str, data_dir: Path | None) -> int:
    """Fork: in the child, prepare `db_path` and exit (0 when it is ready); in this
    process, the child's pid. Call it before any thread or event loop exists: a fork
    copies only the thread that makes it."""
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        quiet()
        asyncio.run(prepare(db_path, data_dir))
        status = 0
    finally:
        # not SystemExit: the parent's atexit handlers and buffered output are its own
        os._exit(status)


def quiet() -> None:
    """The child's output goes nowhere: the parent says what happened."""
    logging.disable(logging.CRITICAL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


async def prepare(db_path: str, data_dir: Path | None) -> None:
    store = await Store.open(db_path)
    try:
        await load_shipped_data(store, load_catalog(), data_dir)
    finally:
        await store.close()


async def wait(pid: int) -> None:
    """Until the child has exited; a warning in the log when it did not prepare the
    database (the start's `load_shipped_data` then does the work and says what fails)."""
    status = await asyncio.to_thread(finish, pid)
    if status != 0:
        why = f"it stopped with {status}" if status is not None else "it took too long"
        log.warning("the new database was not prepared in a second process: %s", why)


def finish(pid: int, timeout: float = WAIT_S) -> int | None:
    """Wait for the child: its exit code, or None when it was stopped for taking longer
    than `timeout` seconds. Blocking: call it from a thread."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(POLL_S)
