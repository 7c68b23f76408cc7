"""An announcement whose results no longer hold stops (issue #18): /hoantac, or a newer
version replacing all it told of, cancels its deliveries still pending in the same
transaction; the chats it already reached get one short correction; the admin is told
how many."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fakes.telegram import FakeBotAPI
from fakes.telegram.state import Call
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data, publish, undo_latest
from ranking.store import Store
from tests.test_announce import ADMIN, OWNER, started, store_of, until_done
from tests.test_telegram import Bot, plain
from tests.test_uploads import buttons, csv_text, upload

GROUPS = [-400009000 - i for i in range(12)]
ANNOUNCED = "Kết quả mới"  # the version announcement's first words
CORRECTION = "Đính chính"


def to_groups(bot: Bot, since: int, words: str) -> list[Call]:
    return [
        c
        for c in bot.srv.calls_since(since, "sendMessage")
        if c.ok and c.params["chat_id"] in GROUPS and words in plain(c)
    ]


def to_admin(text: str) -> tuple[str, Callable[[Call], bool] | None]:
    return ("sendMessage", lambda c: c.params["chat_id"] == ADMIN and text in plain(c))


async def test_undo_mid_broadcast_stops_it_and_corrects_those_it_reached(
    tmp_path: Path,
) -> None:
    # one announcement a second: the undo lands while most groups still wait
    async with FakeBotAPI() as srv, started(srv, tmp_path / "u.db", per_second=1) as bot:
        store = store_of(bot)
        for chat_id in GROUPS:
            await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
        preview = await upload(bot, csv_text().encode(), "ket-qua-2023.csv")
        mark = srv.mark()
        await bot.press(
            preview.result,
            buttons(preview)["✅ Xác nhận"],
            then=to_admin("Đã công bố dữ liệu năm 2023"),
        )
        await srv.wait_for("sendMessage", lambda c: len(to_groups(bot, mark, ANNOUNCED)) >= 2)
        undo = await bot.say("/hoantac", user_id=ADMIN)
        calls = await bot.press(
            undo.result,
            buttons(undo)["✅ Xác nhận"],
            then=to_admin("Đã hoàn tác"),
        )
        done = next(c for c in calls if c.method == "sendMessage" and "Đã hoàn tác" in plain(c))
        (announcement,) = await store._db.rows(
            "SELECT id, state FROM announcements WHERE kind = 'version'"
        )
        assert announcement["state"] == "retracted"
        (correction,) = await store._db.rows(
            "SELECT id FROM announcements WHERE kind = 'correction'"
        )
        counts = await until_done(bot, correction["id"], timeout=60)
        await srv.wait_idle(quiet=0.5)
        got = to_groups(bot, mark, ANNOUNCED)
        reached = Counter(c.params["chat_id"] for c in got)
        # no group got the retracted announcement after the undo was done, none twice
        assert all(c.index < done.index for c in got)
        assert all(n == 1 for n in reached.values()) and 2 <= len(reached) < len(GROUPS)
        # those that got it: one correction each; the others: nothing at all
        corrected = Counter(c.params["chat_id"] for c in to_groups(bot, mark, CORRECTION))
        assert corrected == reached
        assert counts == {"sent": len(reached)}
        left = await store.outbox.announcement_status(announcement["id"])
        assert left == {"sent": len(reached), "cancelled": len(GROUPS) - len(reached)}, left
        status = plain(await bot.say("/trangthai", user_id=ADMIN))
        assert "đính chính một thông báo đã thu hồi" in status, status
        # the admin is told how many
        text = plain(done)
        assert f"{len(GROUPS) - len(reached)} tin chưa gửi đã huỷ" in text, text
        assert f"{len(reached)} nơi đã nhận sẽ nhận một tin đính chính" in text, text
        assert srv.violations == []


def corrected_csv() -> bytes:
    """The 2023 file again with one score corrected: a newer version of both groups."""
    text = csv_text()
    assert "690" in text
    return text.replace("690", "691").encode()


async def test_a_newer_version_of_the_same_groups_retracts_the_one_still_being_sent(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "n.db")
    try:
        catalog = load_catalog()
        await load_shipped_data(store, catalog)
        for chat_id in GROUPS[:4]:
            await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
        first = await publish(store, catalog, csv_text().encode(), "a.csv", uploaded_by=ADMIN)
        assert first.announcement_id is not None and first.retracted == ()
        # the worker got as far as the first group (sent) and the second (in flight)
        outbox = store.outbox
        assert await outbox.mark_delivery(first.announcement_id, GROUPS[0], "sent")
        assert await outbox.mark_delivery(first.announcement_id, GROUPS[1], "sending")
        second = await publish(store, catalog, corrected_csv(), "b.csv", uploaded_by=ADMIN)
        (retraction,) = second.retracted
        assert (retraction.announcement_id, retraction.cancelled, retraction.reached) == (
            first.announcement_id,
            2,
            2,
        )
        assert await outbox.announcement_status(first.announcement_id) == {
            "sent": 1,
            "sending": 1,
            "cancelled": 2,
        }
        assert retraction.correction is not None
        rows = await store._db.rows(
            "SELECT chat_id FROM deliveries WHERE announcement_id = ? ORDER BY chat_id",
            (retraction.correction,),
        )
        assert sorted(r["chat_id"] for r in rows) == sorted(GROUPS[:2])
        # the new version's announcement goes to every subscriber
        assert second.announcement_id is not None
        assert await outbox.announcement_status(second.announcement_id) == {"pending": 4}
        # a version replacing one whose broadcast is over retracts nothing
        for chat_id in GROUPS[:4]:
            await outbox.mark_delivery(second.announcement_id, chat_id, "sent")
        third = await publish(
            store, catalog, corrected_csv().replace(b"691", b"692"), "c.csv", uploaded_by=ADMIN
        )
        assert third.retracted == ()
        # undoing it retracts its own announcement, which nobody got yet: no correction
        undone = await undo_latest(store, undone_by=ADMIN)
        assert undone is not None
        version, undo_retraction = undone
        assert version.id == third.version_id and undo_retraction is not None
        assert (undo_retraction.cancelled, undo_retraction.reached) == (4, 0)
        assert undo_retraction.correction is None
        assert len(await store.people.audit_entries("undo")) == 1  # with the undo itself
    finally:
        await store.close()
