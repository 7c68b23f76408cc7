"""Publishing a data set: the one way a file becomes a version on record.

An admin's confirmed upload, `python -m bot import` and the data shipped with the
program all come here. The file is read and validated in a worker thread; the
version, its slices and its audit line are then one write transaction, so the
audit trail names every version and never one that was not written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ranking.catalog import DATA_DIR, Catalog
from ranking.digest import sha256
from ranking.store import AlreadyImported, NewLink, Retraction, Store, VersionInfo

if TYPE_CHECKING:
    from ranking.importer import Dataset

Known = Literal["ever", "live"]


@dataclass(frozen=True)
class Upload:
    """A data file read and validated: what a preview shows is what gets published."""

    file_name: str
    sha256: str
    dataset: Dataset
    default_ranking: str = ""  # a reorganisation file's, when no name says which


@dataclass(frozen=True)
class Published:
    version_id: int
    upload: Upload
    announcement_id: int | None = None  # 'preparing' until its texts are rendered
    retracted: tuple[Retraction, ...] = ()  # announcements of versions it replaced

    @property
    def years(self) -> list[int]:
        return sorted({s.year for s in self.upload.dataset.slices})


async def read_upload(data: bytes, file_name: str, catalog: Catalog) -> Upload:
    """Hash, read and validate `data` in a worker thread (parsing a large file must not
    stall the bot). Raises ReadProblem or ImportFailed on bad input."""

    def read() -> Upload:
        # imported here, in the worker thread, on the first file read: a start on a
        # database that has the shipped data already never needs the reader
        from ranking.importer import read_and_validate

        dataset = read_and_validate(data, file_name, catalog)
        return Upload(file_name, sha256(data), dataset, catalog.default_ranking)

    return await asyncio.to_thread(read)


async def publish(
    store: Store,
    catalog: Catalog,
    data: bytes,
    file_name: str,
    *,
    uploaded_by: int | None,
    aliases: dict[tuple[str, str], str] | None = None,
    claim: str | None = None,
    unless_known: Known | None = None,
    announce: bool = True,
) -> Published:
    """Read, validate and publish `data`: `read_upload` then `publish_upload`."""
    upload = await read_upload(data, file_name, catalog)
    return await publish_upload(
        store,
        upload,
        uploaded_by=uploaded_by,
        aliases=aliases,
        claim=claim,
        unless_known=unless_known,
        announce=announce,
    )


async def publish_upload(
    store: Store,
    upload: Upload,
    *,
    uploaded_by: int | None,
    aliases: dict[tuple[str, str], str] | None = None,
    claim: str | None = None,
    unless_known: Known | None = None,
    announce: bool = True,
) -> Published:
    """Write the version, point its slices current, add its audit line and (with
    `announce`, when it publishes scores) its announcement with one delivery per
    subscriber, in one transaction: all of it lands, or none of it. The
    announcement's texts need the version visible: the caller renders them after
    the commit (bot/announcements.py), and start-up renders any a crash left.
    Announcements of versions it replaces that are still being sent are
    retracted in the same transaction.

    `aliases`: (ranking, new name key) → the key on record an admin confirmed is the
    same unit. `claim`: a pending confirmation marked done in the same transaction
    (ActionTaken when it no longer is pending: a button pressed twice imports once).
    `unless_known`: AlreadyImported, writing nothing, when a version of this file
    was ever recorded ("ever") or is live ("live"), checked inside the transaction.
    """
    links = await links_in_rankings(store, upload.dataset.links, upload.default_ranking)
    slices = upload.dataset.slices
    groups = {s.group_code for s in slices} if announce else set()
    announcement_id = None
    retracted: list[Retraction] = []
    async with store.write() as db:
        if claim is not None:
            await store.people.claim(db, claim)
        replaced = await store.outbox.current_versions(
            db, [(s.ranking, s.year, s.group_code) for s in slices] if groups else []
        )
        version_id = await store.scores.insert_version(
            db,
            upload.dataset.slices,
            file_name=upload.file_name,
            sha256=upload.sha256,
            uploaded_by=uploaded_by,
            aliases=aliases,
            unless_known=unless_known,
            groups=upload.dataset.new_groups,
            links=links,
            content_digest=upload.dataset.content_digest,
        )
        await store.people.insert_audit(
            db, uploaded_by, "import", f"version {version_id} {upload.file_name}"
        )
        if groups:
            announcement_id = await store.outbox.prepare_version(
                db, version_id, groups, created_by=uploaded_by
            )
            retracted = await store.outbox.retract_replaced(db, replaced - {version_id})
    return Published(version_id, upload, announcement_id, tuple(retracted))


async def undo_latest(
    store: Store, *, undone_by: int | None, expect: int | None = None, claim: str | None = None
) -> tuple[VersionInfo, Retraction | None] | None:
    """Undo the newest version, add the undo's audit line and retract its
    announcement (pending deliveries cancelled, a correction for the chats it
    reached), in one transaction. None when nothing is left to undo."""
    async with store.write() as db:
        version = await store.scores.undo_latest_in(
            db, undone_by=undone_by, expect=expect, claim=claim
        )
        if version is None:
            return None
        await store.people.insert_audit(db, undone_by, "undo", f"version {version.id}")
        return version, await store.outbox.retract_version(db, version.id)


async def links_in_rankings(
    store: Store, links: list[NewLink], default_ranking: str
) -> list[NewLink]:
    """A reorganisation file without a Bảng column is read in the ranking whose units
    its names are (the provinces: the national DTI); the default ranking if none."""
    if all(link.ranking for link in links):
        return links
    best, hits = default_ranking, 0
    for ranking in await store.scores.unit_rankings():
        known = await store.scores.unit_keys(ranking)
        found = sum(1 for lk in links if lk.old_key in known or lk.new_key in known)
        if found > hits:
            best, hits = ranking, found
    return [lk if lk.ranking else replace(lk, ranking=best) for lk in links]


SHIPPED_DIR = DATA_DIR  # the data sets shipped with the program (data/*.csv)


def _read_shipped(folder: Path) -> list[tuple[Path, bytes, str]]:
    """Each shipped CSV of `folder` in name order: its path, bytes and SHA-256."""
    found = []
    for path in sorted(folder.glob("*.csv")):
        data = path.read_bytes()
        found.append((path, data, sha256(data)))
    return found


async def load_shipped_data(
    store: Store, catalog: Catalog, data_dir: Path | None = None
) -> list[str]:
    """Publish every shipped data file the store has never seen (by SHA-256).

    Runs at start-up: a new database gets the shipped data sets; an existing
    one gets only files added since (a new release shipping another year).
    A file once imported and then undone by an admin is not imported again.
    """
    folder = data_dir or SHIPPED_DIR
    loaded = []
    # every file read and hashed in one trip to a thread, and looked up in one
    # statement: on an existing database this is all that start-up does here
    files = await asyncio.to_thread(_read_shipped, folder)
    known = await store.scores.versions_ever([digest for _, _, digest in files])
    for path, data, digest in files:
        if digest in known:
            continue
        try:
            # checked again inside the write: another process starting at the same
            # moment (the bot and a CLI import) may have loaded it meanwhile
            # not announced: the data a release ships is no news to its subscribers
            await publish(
                store,
                catalog,
                data,
                path.name,
                uploaded_by=None,
                unless_known="ever",
                announce=False,
            )
        except AlreadyImported:
            continue
        loaded.append(path.name)
    return loaded
