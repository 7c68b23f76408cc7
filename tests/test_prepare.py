"""A new database made ready in a forked process while the bot starts (bot/prepare.py):
the child does all of the shipped data's work, a child stopped halfway leaves
nothing the start's own load cannot complete, and a failed one is said in the log."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot import prepare
from ranking.catalog import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent

# Run as its own program: a fork is safe only where no other thread runs (pytest's
# process may have some), which `needed` checks. It prints the child's exit code, what
# the parent's load still found to do, and whether the parent ever read a data file.
PARENT = """
import asyncio, sys
from pathlib import Path
from bot import prepare
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.store import Store

db, data_dir, timeout = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
assert prepare.needed(db)
code = prepare.finish(prepare.start(db, data_dir), timeout)

async def load():
    store = await Store.open(db)
    try:
        return await load_shipped_data(store, load_catalog(), data_dir)
    finally:
        await store.close()

print(code, sorted(asyncio.run(load())), "ranking.importer" in sys.modules)
"""


def run_parent(db: Path, data_dir: Path, timeout: float) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PARENT, str(db), str(data_dir), str(timeout)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # the child wrote nothing to the terminal
    return done.stdout.split(" ", 1)


def versions(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT file_name, count(*) FROM versions GROUP BY sha256 ORDER BY file_name"
        ).fetchall()
    con.close()
    return rows


def shipped(folder: Path) -> list[tuple[str, int]]:
    return [(p.name, 1) for p in sorted(folder.glob("*.csv"))]


def test_the_child_loads_the_shipped_data_and_the_parent_reads_none(tmp_path: Path) -> None:
    db = tmp_path / "new" / "bot.sqlite3"  # its folder too is made by the child
    code, rest = run_parent(db, DATA_DIR, prepare.WAIT_S)
    assert code == "0"
    assert rest.split() == ["[]", "False"]  # nothing left to load, no file read here
    assert versions(db) == shipped(DATA_DIR)


@pytest.mark.parametrize("after", [0.0, 0.03, 0.05, 0.07])
def test_a_child_stopped_halfway_is_completed_by_the_start(tmp_path: Path, after: float) -> None:
    """Stopped at once (before it wrote) or 30–70 ms in (here, while it writes the
    files): every shipped file then has exactly one version, the database is sound."""
    db = tmp_path / "bot.sqlite3"
    code, _ = run_parent(db, DATA_DIR, after)
    assert code in ("None", "0")  # a fast machine may finish within 70 ms
    assert versions(db) == shipped(DATA_DIR)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_needed_only_for_a_new_file_in_a_process_without_threads(tmp_path: Path) -> None:
    existing = tmp_path / "old.sqlite3"
    existing.write_bytes(b"")
    assert not prepare.needed(str(existing))
    assert not prepare.needed(":memory:")
    lone = threading.active_count() == 1
    assert prepare.needed(str(tmp_path / "new.sqlite3")) is lone
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not prepare.needed(str(tmp_path / "new.sqlite3"))
    finally:
        stop.set()
        other.join()


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (
            "raise SystemExit(3)",
            ["the new database was not prepared in a second process: it stopped with 3"],
        ),
        ("pass", []),
    ],
)
def test_a_failed_child_is_said_in_the_log(
    caplog: pytest.LogCaptureFixture, code: str, said: list[str]
) -> None:
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        with caplog.at_level(logging.WARNING, logger="rankbot.prepare"):
            asyncio.run(prepare.wait(child.pid))
    finally:
        child.wait()  # already reaped by `wait`: Popen settles its own record
    assert [r.getMessage() for r in caplog.records] == said
