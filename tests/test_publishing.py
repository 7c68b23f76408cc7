"""Publishing: a version and its audit line land together or not at all."""

from __future__ import annotations

import time

import aiosqlite
import pytest

from ranking.catalog import Catalog
from ranking.importer import ImportFailed
from ranking.publishing import load_shipped_data, publish, publish_upload, read_upload
from ranking.store import ActionTaken, AlreadyImported, PendingAction, Store

HEADER = "Năm;Nhóm;Xếp hạng;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ\n"
SOURCE = "QĐ 1/QĐ-UBND ngày 1/3/2024"
DATA = (
    HEADER
    + f"2023;huyen;1;Huyện Sa Pa;650,5;1.000;9;{SOURCE}\n"
    + f"2024;huyen;1;Huyện Bắc Hà;700;1.000;9;{SOURCE}\n"
).encode()


async def test_a_version_and_its_audit_line(store: Store, catalog: Catalog) -> None:
    published = await publish(store, catalog, DATA, "new.csv", uploaded_by=42)
    assert published.years == [2023, 2024]
    (version,) = await store.scores.versions()
    assert (version.id, version.file_name, version.uploaded_by) == (
        published.version_id,
        "new.csv",
        42,
    )
    assert version.sha256 == published.upload.sha256
    assert await store.people.audit_entries("import") == [
        (42, "import", f"version {published.version_id} new.csv")
    ]


async def test_the_shipped_data_is_on_the_audit_trail(store: Store, catalog: Catalog) -> None:
    loaded = await load_shipped_data(store, catalog)
    entries = await store.people.audit_entries("import")
    assert [(user, detail.split(" ", 2)[2]) for user, _, detail in entries] == [
        (None, name) for name in loaded
    ]


async def test_a_failed_audit_line_writes_no_version(
    store: Store, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full_disk(db: aiosqlite.Connection, *args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store.people, "insert_audit", full_disk)
    with pytest.raises(OSError):
        await publish(store, catalog, DATA, "new.csv", uploaded_by=42)
    assert await store.scores.versions() == []
    assert await store.scores.current_slices() == []
    assert await store.scores.generation() == 0


async def test_a_confirmation_imports_once(store: Store, catalog: Catalog) -> None:
    action = PendingAction(
        "act", "import", 42, 42, time.time(), "new.csv", None, None, [], None, "pending"
    )
    await store.people.add_pending(action)
    upload = await read_upload(DATA, "new.csv", catalog)
    first = await publish_upload(store, upload, uploaded_by=42, claim="act")
    with pytest.raises(ActionTaken):
        await publish_upload(store, upload, uploaded_by=42, claim="act")
    assert [v.id for v in await store.scores.versions()] == [first.version_id]
    assert len(await store.people.audit_entries("import")) == 1


async def test_a_known_file_writes_nothing(store: Store, catalog: Catalog) -> None:
    first = await publish(store, catalog, DATA, "new.csv", uploaded_by=42)
    with pytest.raises(AlreadyImported) as caught:
        await publish(store, catalog, DATA, "again.csv", uploaded_by=7, unless_known="live")
    assert caught.value.version_id == first.version_id
    assert len(await store.scores.versions()) == 1
    assert len(await store.people.audit_entries("import")) == 1
    # undone, it is no longer live, but it was imported once
    await store.scores.undo_latest(undone_by=42)
    with pytest.raises(AlreadyImported):
        await publish(store, catalog, DATA, "again.csv", uploaded_by=7, unless_known="ever")
    again = await publish(store, catalog, DATA, "again.csv", uploaded_by=7, unless_known="live")
    assert again.version_id == first.version_id + 1


async def test_bad_input_writes_nothing(store: Store, catalog: Catalog) -> None:
    bad = (HEADER + f"2023;huyen;1;Huyện Sa Pa;abc;1.000;9;{SOURCE}\n").encode()
    with pytest.raises(ImportFailed):
        await publish(store, catalog, bad, "bad.csv", uploaded_by=42)
    assert await store.scores.versions() == []
    assert await store.people.audit_entries() == []
