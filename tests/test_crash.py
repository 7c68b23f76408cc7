"""Kill an import, or subscription and outbox writes, at random moments: the store holds
the old data or the new, never a mix.

CI runs a few trials; RANKBOT_LONG=1 runs 50.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ranking.store import Store
from tests.support.crash_driver import check_invariants

ROOT = Path(__file__).resolve().parent.parent
TRIALS = 50 if os.environ.get("RANKBOT_LONG") == "1" else 4
UNITS = 10_000


def big_file(path: Path) -> None:
    lines = ["Năm;Nhóm;Xếp hạng;Đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ"]
    lines += [
        f"2023;huyen;{i};Đơn vị {i};{(UNITS - i) / 100:.2f};1000;{UNITS};QĐ 1"
        for i in range(1, UNITS + 1)
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def state(db: Path) -> tuple[str, int, int]:
    conn = sqlite3.connect(db)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        versions = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
        current_2023 = conn.execute(
            "SELECT COUNT(*) FROM current_slices c JOIN scores x ON x.version_id = c.version_id"
            " AND x.ranking = c.ranking AND x.year = c.year AND x.group_code = c.group_code"
            " WHERE c.year = 2023"
        ).fetchone()[0]
        return check, versions, current_2023
    finally:
        conn.close()


def test_sigkill_during_import_leaves_old_or_new(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    big_file(source)
    env = {**os.environ}
    rng = random.Random(1234)
    outcomes = {"old": 0, "new": 0}
    # the first run measures how long a whole import takes, to aim the kills inside it
    db = tmp_path / "measure.sqlite3"
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "bot", "import", str(source)],
        cwd=ROOT,
        env={**env, "RANKBOT_DB": str(db)},
        check=True,
        capture_output=True,
    )
    duration = time.monotonic() - start
    assert state(db) == ("ok", 3, UNITS)  # two shipped versions + the import
    for trial in range(TRIALS):
        db = tmp_path / f"trial{trial}.sqlite3"
        # the shipped data first, so that "old" is a real data set
        subprocess.run(
            [sys.executable, "-m", "bot", "ask", "/nam"],
            cwd=ROOT,
            env={**env, "RANKBOT_DB": str(db)},
            check=True,
            capture_output=True,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "import", str(source)],
            cwd=ROOT,
            env={**env, "RANKBOT_DB": str(db)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.1) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check, versions, current = state(db)
        assert check == "ok"
        assert (versions, current) in ((2, 0), (3, UNITS)), (versions, current)
        outcomes["old" if versions == 2 else "new"] += 1
    assert sum(outcomes.values()) == TRIALS


def test_sigkill_during_subscription_and_outbox_writes_leaves_old_or_new(tmp_path: Path) -> None:
    """Chat migrations, /dangky and /huydangky, queued announcements and delivery state
    writes (tests/support/crash_driver.py), killed at random: every one whole or absent."""
    template = tmp_path / "template.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "tests.support.crash_driver", "setup", str(template)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    check_invariants(template)
    rng = random.Random(4321)
    moves = []
    for trial in range(TRIALS):
        db = tmp_path / f"outbox{trial}.sqlite3"
        shutil.copyfile(template, db)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.crash_driver", "run", str(db)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        with proc:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.05, 0.8))
            assert proc.poll() is None  # still writing: the kill lands mid-work
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        counts = check_invariants(db)
        moves.append(counts["moves"])
        # the restart's first step: a send in flight at the kill is marked uncertain,
        # never sent again, and nothing else changes
        settled = asyncio.run(settle(db))
        assert settled == counts["sending"]
        conn = sqlite3.connect(db)
        try:
            states = dict(conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
        finally:
            conn.close()
        assert "sending" not in states and states.get("uncertain", 0) == settled
    assert max(moves) > 0  # the driver really wrote before being killed


async def settle(db: Path) -> int:
    store = await Store.open(db)
    try:
        return await store.outbox.settle_interrupted()
    finally:
        await store.close()
