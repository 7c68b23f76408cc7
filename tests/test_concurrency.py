"""Many readers and one writer at once, two imports at the same moment, and the rule
that every transaction that may write begins IMMEDIATE.

No sqlite3 "database is locked" may reach a caller: writers wait for each other
(the asyncio lock in one process, busy_timeout across processes) and readers never
wait (WAL). Readers see the old data or the new, never a mix.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import bot.cli
import ranking.store.db
from bot.answers import Answers
from bot.reply import to_plain
from ranking.catalog import Catalog
from ranking.importer import Dataset, read_and_validate, sha256
from ranking.publishing import load_shipped_data, publish
from ranking.queries import Rankings
from ranking.store import ActionTaken, PendingAction, Store, StoreError
from tests.support.waiting import eventually
from tests.test_uploads import ADMIN, buttons, confirm, csv_text, upload
from tests.test_uploads import running as uploads_running

ROOT = Path(__file__).resolve().parent.parent
LONG = os.environ.get("RANKBOT_LONG") == "1"
UNITS = 5_000
HEADER = "Năm;Nhóm;Xếp hạng;Đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ"

running = uploads_running  # the upload tests' bot, with ADMIN in RANKBOT_ADMIN_IDS


def big_csv(year: int = 2023, units: int = UNITS, tag: str = "") -> bytes:
    rows = [HEADER] + [
        f"{year};huyen;{i};Đơn vị {tag}{i};{(units - i) / 10:.1f};1000;{units};QĐ {year}{tag}"
        for i in range(1, units + 1)
    ]
    return "\n".join(rows).encode()


def dataset_of(data: bytes, catalog: Catalog) -> Dataset:
    return read_and_validate(data, "big.csv", catalog)


async def commit(store: Store, data: bytes, catalog: Catalog, **kw: Any) -> int:
    dataset = await asyncio.to_thread(dataset_of, data, catalog)
    return await store.scores.commit_version(
        dataset.slices, file_name="big.csv", sha256=sha256(data), uploaded_by=ADMIN, **kw
    )


class Readers:
    """Query tasks that run until stopped; every answer is kept."""

    def __init__(self, answers: list[Answers]):
        self.answers = answers
        self.stop = asyncio.Event()
        self.replies: list[tuple[str, str]] = []

    async def loop(self, answers: Answers, texts: list[str]) -> None:
        while not self.stop.is_set():
            for text in texts:
                reply = await answers.to_text(text, lang="vi")
                assert reply is not None
                self.replies.append((text, to_plain(reply.text)))
            await asyncio.sleep(0)

    def tasks(self) -> list[asyncio.Task[None]]:
        texts = [["/top 3 huyen 2023", "/nam"], ["bac ha", "/cuoi 2 huyen 2023"], ["/muc 2023"]]
        return [
            asyncio.create_task(self.loop(answers, batch))
            for answers in self.answers
            for batch in texts
        ]


def full_or_absent(text: str, reply: str) -> None:
    """The 2023 ranking as a reader sees it: all of it, or none of it."""
    if text == "/top 3 huyen 2023":
        if "Đơn vị 1 —" in reply:
            assert "Đơn vị 2 —" in reply and "Đơn vị 3 —" in reply, reply
        else:
            assert "Các năm có dữ liệu: 2022" in reply, reply
    if text == "/cuoi 2 huyen 2023" and "Đơn vị" in reply:
        assert f"Đơn vị {UNITS} —" in reply and f"Đơn vị {UNITS - 1} —" in reply, reply


async def test_readers_during_an_import_see_old_or_new(tmp_path: Path, catalog: Catalog) -> None:
    """Queries through Answers on the store's own reader and on a second store's
    connections, while store.scores.commit_version writes 5,000 rows."""
    db = tmp_path / "read.sqlite3"
    store, other = await Store.open(db), await Store.open(db)
    try:
        await load_shipped_data(store, catalog)
        readers = Readers([Answers(Rankings(s, catalog)) for s in (store, other)])
        data = big_csv()
        dataset = await asyncio.to_thread(dataset_of, data, catalog)
        tasks = readers.tasks()
        await asyncio.sleep(0.05)
        before = len(readers.replies)
        version = await store.scores.commit_version(
            dataset.slices, file_name="big.csv", sha256=sha256(data), uploaded_by=ADMIN
        )
        during = len(readers.replies) - before
        await asyncio.sleep(0.1)  # and some after it
        readers.stop.set()
        await asyncio.gather(*tasks)  # re-raises any reader's error ("database is locked")
        assert version == 3
        assert during > 0, "no query ran while the import was writing"
        for text, reply in readers.replies:
            full_or_absent(text, reply)
        for answers in readers.answers:  # and afterwards, on either store: the new data
            after = await answers.to_text("/top 3 huyen 2023", lang="vi")
            assert after is not None and "Đơn vị 1 —" in to_plain(after.text)
    finally:
        await other.close()
        await store.close()


async def test_another_process_imports_while_this_one_reads_and_writes(
    tmp_path: Path, catalog: Catalog
) -> None:
    """`python -m bot import` against the same file while this process answers
    queries and writes settings, subscriptions and audit entries."""
    db = tmp_path / "shared.sqlite3"
    source = tmp_path / "big.csv"
    source.write_bytes(big_csv())
    store = await Store.open(db)
    writes = 0
    try:
        await load_shipped_data(store, catalog)
        readers = Readers([Answers(Rankings(store, catalog))])
        tasks = readers.tasks()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "import",
            str(source),
            cwd=ROOT,
            env={**os.environ, "RANKBOT_DB": str(db)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        communicate = asyncio.create_task(proc.communicate())
        while not communicate.done():
            writes += 1
            await store.people.set_language(writes, "en" if writes % 2 else "vi")
            await store.outbox.subscribe(-writes, "group", None, by=ADMIN)
            await store.people.audit(ADMIN, "test", str(writes))
        stdout, stderr = await communicate
        readers.stop.set()
        await asyncio.gather(*tasks)
        output = stdout.decode() + stderr.decode()
        assert proc.returncode == 0, output
        assert "locked" not in output and "Traceback" not in output
        assert "phiên bản dữ liệu số 3" in output
        assert writes > 3, "this process wrote nothing while the other imported"
        assert len(await store.people.audit_entries("test")) == writes
        for text, reply in readers.replies:
            full_or_absent(text, reply)
        final = await Answers(Rankings(store, catalog)).to_text("/top 1 huyen 2023", lang="vi")
        assert final is not None and "Đơn vị 1 —" in to_plain(final.text)
        # and the answers that were running all along (their freshness check reads
        # SQLite's data_version, which the other process's commit moved) see it too
        for answers in readers.answers:
            after = await answers.to_text("/top 1 huyen 2023", lang="vi")
            assert after is not None and "Đơn vị 1 —" in to_plain(after.text)
    finally:
        await store.close()


async def test_two_imports_in_one_process_are_serialised(tmp_path: Path, catalog: Catalog) -> None:
    store = await Store.open(tmp_path / "two.sqlite3")
    try:
        await load_shipped_data(store, catalog)
        # two different files for the same year and group: both land, one after the
        # other; the current slice is wholly the later one
        first, second = big_csv(tag="A"), big_csv(tag="B")
        versions = await asyncio.gather(
            commit(store, first, catalog), commit(store, second, catalog)
        )
        assert sorted(versions) == [3, 4]
        current = await store.scores.current_slice("cds", 2023, "huyen")
        assert current is not None and current.version_id == 4
        names = {r.name[len("Đơn vị ") :][0] for r in await store.scores.slice_records(current)}
        assert len(names) == 1 and current.published == UNITS
        # the same confirmation pressed twice at once: one import, the other refused
        action = PendingAction(
            "act1", "import", ADMIN, ADMIN, time.time(), "c.csv", "x", b"", [], None, "pending"
        )
        await store.people.add_pending(action)
        third = big_csv(year=2024)
        outcomes = await asyncio.gather(
            commit(store, third, catalog, claim="act1"),
            commit(store, third, catalog, claim="act1"),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["ActionTaken", "int"]
        # the same file imported twice at once with the in-transaction check: once
        fourth = big_csv(year=2021)
        outcomes = await asyncio.gather(
            commit(store, fourth, catalog, unless_known="live"),
            commit(store, fourth, catalog, unless_known="live"),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyImported", "int"]
        assert [v.id for v in await store.scores.versions()] == [6, 5, 4, 3, 2, 1]
    finally:
        await store.close()


async def test_stores_opening_a_new_file_at_once(tmp_path: Path, catalog: Catalog) -> None:
    """The bot and a CLI import starting together on a new database: one creates the
    schema and loads the shipped data, the others wait and then find it done."""
    db = tmp_path / "fresh.sqlite3"
    stores = await asyncio.gather(*(Store.open(db) for _ in range(4)), return_exceptions=True)
    opened = [s for s in stores if isinstance(s, Store)]
    try:
        assert len(opened) == 4, [s for s in stores if not isinstance(s, Store)]
        loaded = await asyncio.gather(*(load_shipped_data(s, catalog) for s in opened))
        assert sorted(name for names in loaded for name in names) == [
            "dti-2022.csv",
            "laocai-cds-2022.csv",
        ]
        assert [v.file_name for v in await opened[0].scores.versions()] == [
            "laocai-cds-2022.csv",
            "dti-2022.csv",
        ]
    finally:
        for s in opened:
            await s.close()


async def test_opening_waits_while_another_process_creates_the_file(tmp_path: Path) -> None:
    """The switch to WAL needs an exclusive lock; while another connection holds the
    new file's write lock, SQLite says "database is locked" at once, without the busy
    timeout. Store.open waits instead."""
    db = tmp_path / "creating.sqlite3"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE being_created (x)")
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        store = await Store.open(db)
        try:
            assert await store.scores.is_empty()
        finally:
            await store.close()
    finally:
        other.close()


async def test_a_failed_open_leaves_no_thread_behind(tmp_path: Path) -> None:
    """A connection whose set-up fails is closed: its thread would keep
    `python -m bot import` alive forever after printing the error."""
    db = tmp_path / "garbage.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    before = set(threading.enumerate())
    with pytest.raises(StoreError, match="not_a_database"):  # one line, not a traceback
        await Store.open(db)

    def ours() -> list[threading.Thread]:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        return [t for t in left if not t.name.startswith("asyncio_")]

    # the closed connection's thread ends just after close() returns: wait for that
    await eventually(lambda: not ours(), "the failed connection's thread ended")
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert [t for t in left if not t.name.startswith("asyncio_")] == []


def run_import(db: Path, source: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "import", str(source)],
        cwd=ROOT,
        env={**os.environ, "RANKBOT_DB": str(db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_processes_import_at_once_on_a_new_database(tmp_path: Path) -> None:
    """Both start on the same new file: creating it (WAL switch, migrations, the
    shipped data) and the two imports are serialised, none fails, nothing twice."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(big_csv(year=2023, units=1000))
    b.write_bytes(big_csv(year=2024, units=1000))
    for round_ in range(6 if LONG else 1):
        db = tmp_path / f"new{round_}.sqlite3"
        procs = [run_import(db, a), run_import(db, b)]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        for proc, output in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, output
            assert "locked" not in output and "Traceback" not in output, output
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            files = [r[0] for r in conn.execute("SELECT file_name FROM versions ORDER BY id")]
        finally:
            conn.close()
        assert sorted(files) == ["a.csv", "b.csv", "dti-2022.csv", "laocai-cds-2022.csv"]


def test_the_same_file_from_two_cli_imports_at_once_lands_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic: both imports pass the SHA-256 check before either writes."""
    source = tmp_path / "same.csv"
    source.write_bytes(big_csv(units=200))
    monkeypatch.setenv("RANKBOT_DB", str(tmp_path / "same.sqlite3"))
    barrier = threading.Barrier(2, timeout=30)
    real_preview = getattr(bot.cli, "build_preview")  # noqa: B009 (not re-exported)

    async def preview_after_both_checked(*args: Any, **kw: Any) -> Any:
        await asyncio.to_thread(barrier.wait)
        return await real_preview(*args, **kw)

    monkeypatch.setattr("bot.cli.build_preview", preview_after_both_checked)
    codes: list[int] = []

    def one() -> None:
        codes.append(bot.cli.import_file(str(source), dry_run=False))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [0, 0]
    conn = sqlite3.connect(tmp_path / "same.sqlite3")
    try:
        count = conn.execute("SELECT COUNT(*) FROM versions WHERE file_name = 'same.csv'")
        assert count.fetchone()[0] == 1
    finally:
        conn.close()


async def test_two_admins_confirming_the_same_file_import_it_once(running: Any) -> None:
    data = csv_text(";").encode()
    first = await upload(running, data, "a.csv")
    second = await upload(running, data, "a-again.csv")  # before the first is confirmed
    assert "Xem trước" in to_plain(second.params["text"]) and buttons(second)
    await confirm(running, first)
    await confirm(running, second)
    store: Store = running.app.bot_data.store
    assert len([v for v in await store.scores.versions() if v.sha256 == sha256(data)]) == 1


# ---- every transaction that may write begins IMMEDIATE -------------------------------

WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b")
CONNECTION_PRAGMAS = re.compile(
    r"^PRAGMA\s+(busy_timeout|journal_mode|synchronous|foreign_keys)", re.IGNORECASE
)


def is_write(sql: str) -> bool:
    text = " ".join(sql.split()).upper()
    if text.startswith("PRAGMA"):
        return "=" in text and not CONNECTION_PRAGMAS.match(text)
    first = text.split(" ", 1)[0]
    if first in ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE"):
        return False
    return bool(WRITE.search(text)) or first not in ("WITH", "EXPLAIN")


def check_trace(statements: list[str]) -> list[str]:
    """Problems in one connection's statements: a BEGIN other than BEGIN IMMEDIATE,
    or a write outside a transaction begun so."""
    problems, in_immediate = [], False
    for sql in statements:
        text = " ".join(sql.split()).upper().rstrip(";")
        if text.startswith("BEGIN"):
            if text != "BEGIN IMMEDIATE":
                problems.append(f"not IMMEDIATE: {sql!r}")
            in_immediate = text == "BEGIN IMMEDIATE"
        elif text.startswith(("COMMIT", "END", "ROLLBACK")) and "TO" not in text.split():
            in_immediate = False
        elif is_write(sql) and not in_immediate:
            problems.append(f"write outside BEGIN IMMEDIATE: {sql[:120]!r}")
    return problems


def test_the_trace_checker_itself() -> None:
    good = ["BEGIN IMMEDIATE", "SELECT 1", "INSERT INTO t VALUES (1)", "COMMIT", "SELECT 2"]
    assert check_trace(good) == []
    assert check_trace(["BEGIN", "UPDATE t SET a = 1", "COMMIT"]) == [
        "not IMMEDIATE: 'BEGIN'",
        "write outside BEGIN IMMEDIATE: 'UPDATE t SET a = 1'",
    ]
    assert check_trace(["BEGIN DEFERRED", "DELETE FROM t", "COMMIT"]) != []
    assert check_trace(["INSERT INTO t VALUES (1)"]) != []  # autocommit
    assert check_trace(["BEGIN IMMEDIATE", "COMMIT", "UPDATE t SET a = 2"]) != []
    assert check_trace(["PRAGMA user_version = 3"]) != []
    assert check_trace(["PRAGMA journal_mode = WAL", "PRAGMA data_version"]) == []


async def test_every_store_write_begins_immediate(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trace every statement of every connection the Store opens while each public
    method of the Store and of each of its concerns (store.scores, store.people,
    store.outbox, and any added later) runs (a new method must be added to CALLS
    below). A BEGIN that is not IMMEDIATE, or a write in autocommit, fails."""
    traces: list[list[str]] = []
    real_connect = ranking.store.db._connect

    async def traced(path: str) -> aiosqlite.Connection:
        conn = await real_connect(path)
        statements: list[str] = []
        traces.append(statements)
        await conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(ranking.store.db, "_connect", traced)
    store = await Store.open(tmp_path / "trace.sqlite3")
    # the Store's own methods, and those of every concern it holds: "scores.window"
    parts: dict[str, object] = {"": store}
    parts |= {
        name: value
        for name, value in vars(store).items()
        if not name.startswith("_") and type(value).__module__.startswith("ranking.store.")
    }
    assert {"scores", "people", "outbox"} <= parts.keys()
    public = {
        f"{prefix}.{name}" if prefix else name
        for prefix, part in parts.items()
        for name, member in inspect.getmembers(type(part))
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    called: set[str] = set()
    try:
        data = csv_text(";").encode()
        dataset = dataset_of(data, catalog)
        now = time.time()

        def pending(action_id: str, kind: str = "import") -> PendingAction:
            return PendingAction(
                action_id, kind, ADMIN, ADMIN, now, "a.csv", "s", b"x", [], None, "pending"
            )

        slice_ = None

        async def current() -> Any:
            nonlocal slice_
            slice_ = await store.scores.current_slice("cds", 2023, "tthc")
            return slice_

        async def shipped() -> list[str]:  # through publishing: a version and its audit line
            return await load_shipped_data(store, catalog)

        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "scores.insert_version": shipped,
            "people.insert_audit": shipped,
            "scores.generation": store.scores.generation,
            "people.add_pending": lambda: store.people.add_pending(pending("p1")),
            "people.pending": lambda: store.people.pending("p1"),
            "people.cancel_pending": lambda: store.people.cancel_pending("p1"),
            "people.forget_old_pending": lambda: store.people.forget_old_pending(now + 1),
            "people.set_language": lambda: store.people.set_language(5, "en"),
            "people.language": lambda: store.people.language(5),
            "people.languages": store.people.languages,
            "people.add_admin": lambda: store.people.add_admin(7, added_by=ADMIN),
            "people.admin_ids": store.people.admin_ids,
            "people.remove_admin": lambda: store.people.remove_admin(7, removed_by=ADMIN),
            "people.audit": lambda: store.people.audit(ADMIN, "x", "y"),
            "people.audit_entries": lambda: store.people.audit_entries("x"),
            "outbox.subscribe": lambda: store.outbox.subscribe(-10, "group", ["tthc"], by=ADMIN),
            "outbox.subscription": lambda: store.outbox.subscription(-10),
            "outbox.subscriptions": store.outbox.subscriptions,
            "outbox.migrate_chat": lambda: store.outbox.migrate_chat(-10, -1000010),
            "outbox.unsubscribe": lambda: store.outbox.unsubscribe(-1000010, by=ADMIN),
            "outbox.create_announcement": lambda: store.outbox.create_announcement(
                "text", created_by=ADMIN, text_html="x", draft=True
            ),
            "outbox.announcement": lambda: store.outbox.announcement(1),
            "outbox.queue_draft": lambda: store.outbox.queue_draft(1),
            "outbox.cancel_draft": lambda: store.outbox.cancel_draft(1),
            "outbox.next_pending": store.outbox.next_pending,
            "outbox.mark_delivery": lambda: store.outbox.mark_delivery(
                1, -10, "sending", expect="pending"
            ),
            "outbox.settle_interrupted": store.outbox.settle_interrupted,
            "outbox.announcement_status": lambda: store.outbox.announcement_status(1),
            "outbox.latest_announcement": store.outbox.latest_announcement,
            "scores.is_empty": store.scores.is_empty,
            "scores.current_slices": store.scores.current_slices,
            "scores.current_slice": current,
            "scores.units_on_record": store.scores.units_on_record,
            "scores.unit_keys": lambda: store.scores.unit_keys("cds"),
            "scores.versions": store.scores.versions,
            "scores.version_by_sha": lambda: store.scores.version_by_sha("s"),
            "scores.versions_ever": lambda: store.scores.versions_ever(["s"]),
            "scores.version_groups": lambda: store.scores.version_groups(2),
        }
        for name, call in calls.items():
            if name in public:  # a method removed since is skipped
                await call()
                called.add(name)
        # the writes with every option: a claimed import with aliases and the
        # in-transaction SHA-256 check, the same through publishing (with its audit
        # line), then a claimed undo
        await store.outbox.subscribe(-11, "group", None, by=ADMIN)
        await store.people.add_pending(pending("p2"))
        version = await store.scores.commit_version(
            dataset.slices,
            file_name="a.csv",
            sha256=sha256(data),
            uploaded_by=ADMIN,
            aliases={("cds", "so moi"): "so giao duc va dao tao"},
            claim="p2",
            unless_known="live",
        )
        await store.people.add_pending(pending("p4"))
        published = await publish(
            store,
            catalog,
            csv_text(",").encode(),
            "b.csv",
            uploaded_by=ADMIN,
            aliases={("cds", "so khac"): "so giao duc va dao tao"},
            claim="p4",
            unless_known="live",
        )
        called.add("people.claim")
        await store.outbox.create_announcement(
            "version", created_by=ADMIN, text_html="v", version_id=version, match_groups={"tthc"}
        )
        await store.outbox.mark_delivery(2, -11, "sent", message_id=5, attempt=True)
        assert await current() is not None and slice_ is not None
        await store.scores.window(slice_, 1, 3)
        await store.scores.slice_records(slice_)
        unit_id = (await store.scores.unit_keys("cds"))["so giao duc va dao tao"]
        await store.scores.unit_history(unit_id)
        later: dict[str, Callable[[], Awaitable[Any]]] = {  # added later: called when present
            "scores.slice_scores": lambda: store.scores.slice_scores(slice_),
            "scores.unit_records": lambda: store.scores.unit_records(slice_, [unit_id]),
            "scores.unit_current_records": lambda: store.scores.unit_current_records(unit_id),
            "scores.created_groups": lambda: store.scores.created_groups(),
            "scores.links": lambda: store.scores.links(),
            "scores.unit_names": lambda: store.scores.unit_names("cds"),
            "scores.unit_rankings": lambda: store.scores.unit_rankings(),
            "scores.version_with_content": lambda: store.scores.version_with_content("x"),
            "outbox.next_pending_text_ids": lambda: store.outbox.next_pending_text_ids("zalo"),
            "people.set_channel_language": lambda: store.people.set_channel_language(
                "zalo", "u1", "en"
            ),
            "people.channel_language": lambda: store.people.channel_language("zalo", "u1"),
        }
        # the announcement written with its version, and its retraction (migration 8)
        announced: dict[str, int] = {}

        async def prepared() -> None:
            async with store.write() as db:
                announced["id"] = await store.outbox.prepare_version(
                    db, 999_999, {"tthc"}, created_by=None
                )

        async def in_write(work: Callable[[aiosqlite.Connection], Awaitable[Any]]) -> None:
            async with store.write() as db:
                await work(db)

        async def undo_refused() -> None:  # expect names no version: nothing is undone
            with pytest.raises(ActionTaken):
                await in_write(lambda db: store.scores.undo_latest_in(db, undone_by=1, expect=-1))

        later |= {
            "outbox.prepare_version": prepared,
            "outbox.preparing": store.outbox.preparing,
            "outbox.audience": lambda: store.outbox.audience(announced["id"]),
            "outbox.version_announcement": lambda: store.outbox.version_announcement(999_999),
            "outbox.announcement_version": lambda: store.outbox.announcement_version(1),
            "outbox.ready": lambda: store.outbox.ready(announced["id"], "x", {}),
            "outbox.current_versions": lambda: in_write(
                lambda db: store.outbox.current_versions(db, [("cds", 2023, "tthc")])
            ),
            "outbox.retract_replaced": lambda: in_write(
                lambda db: store.outbox.retract_replaced(db, {999_999})
            ),
            "outbox.retract_version": lambda: in_write(
                lambda db: store.outbox.retract_version(db, 999_999)
            ),
            "scores.undo_latest_in": undo_refused,
        }
        for name, call in later.items():
            if name in public:
                await call()
                called.add(name)
        await store.people.add_pending(pending("p3", "undo"))
        undone = await store.scores.undo_latest(
            undone_by=ADMIN, expect=published.version_id, claim="p3"
        )
        assert undone is not None
        called |= {
            "scores.commit_version",
            "scores.window",
            "scores.slice_records",
            "scores.unit_history",
            "scores.undo_latest",
        }
        async with store.write() as db:  # the context manager other code uses directly
            await db.execute("UPDATE pending_actions SET created_at = 0 WHERE id = 'p1'")
    finally:
        await store.close()
        called |= {"open", "close"}
    assert public - called == set(), "add these Store methods to CALLS in this test"
    problems = [p for statements in traces for p in check_trace(statements)]
    assert problems == []
    writes = sum(is_write(sql) for statements in traces for sql in statements)
    assert writes > 50 and len(traces) == 2  # really traced: the writer and the reader
