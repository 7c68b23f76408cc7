"""Issue #14: the same rows re-saved or in another format import nothing and announce
nothing; a name close to a unit on record is never guessed by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ranking.store import Store
from tests.test_telegram import Bot, plain
from tests.test_uploads import ADMIN, admin_bot, confirm, upload

ROOT = Path(__file__).resolve().parent.parent
OFFICE = ROOT / "tests" / "fixtures" / "office"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with admin_bot(tmp_path) as bot:
        yield bot


async def test_a_resaved_or_converted_sheet_writes_and_announces_nothing(running: Bot) -> None:
    store = running.app.bot_data.store
    assert isinstance(store, Store)
    await store.outbox.subscribe(-100500, "group", None, by=1)
    preview = await upload(running, (OFFICE / "ket-qua-2023.xlsx").read_bytes(), "2023.xlsx")
    assert "Xem trước" in plain(preview)
    assert "Đã công bố" in plain(await confirm(running, preview))
    versions = len(await store.scores.versions(limit=100))
    latest = await store.outbox.latest_announcement()
    await running.srv.wait_for("sendMessage", lambda c: c.params["chat_id"] == -100500)
    for name in ("ket-qua-2023.ods", "ket-qua-2023.xls", "ket-qua-2023.csv"):
        mark = running.srv.mark()
        running.srv.push_update(
            running.srv.document_message(
                (OFFICE / name).read_bytes(), name, user_id=ADMIN, chat_id=ADMIN, caption="/tailen"
            )
        )
        again = await running.srv.wait_for(
            "sendMessage", lambda c: c.params["chat_id"] == ADMIN, since=mark, timeout=15
        )
        assert "Nội dung tệp trùng với dữ liệu đang công bố" in plain(again), name
    assert len(await store.scores.versions(limit=100)) == versions
    assert await store.outbox.latest_announcement() == latest


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_refuses_to_guess_a_near_name(tmp_path: Path) -> None:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "cli.sqlite3")}
    file = tmp_path / "2023.csv"
    file.write_text(
        "Năm;Nhóm;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Xếp hạng;Số đơn vị;Căn cứ\n"
        "2023;huyen;Huyện Bát Sát;590;1.000;1;9;QĐ 684/QĐ-UBND ngày 03/4/2024\n",
        encoding="utf-8",
    )
    refused = run(env, "import", str(file))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "gần giống" in refused.stdout and "Huyện Bát Xát" in refused.stdout
    assert "--same" in refused.stdout and "Chưa nhập" in refused.stdout
    assert "Huyện Bát Sát" not in run(env, "ask", "/top 3 huyen 2023").stdout
    # the admin says it is the same unit: its card gets 2023
    same = run(env, "import", str(file), "--same", "Huyện Bát Sát=Huyện Bát Xát")
    assert same.returncode == 0, same.stdout + same.stderr
    card = run(env, "ask", "bat xat").stdout
    assert "2023" in card and "590" in card


def test_the_cli_takes_a_near_name_as_a_new_unit_when_told(tmp_path: Path) -> None:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "cli.sqlite3")}
    file = tmp_path / "2023.csv"
    file.write_text(
        "Năm;Nhóm;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Xếp hạng;Số đơn vị;Căn cứ\n"
        "2023;huyen;Huyện Bát Sát;590;1.000;1;9;QĐ 684/QĐ-UBND ngày 03/4/2024\n",
        encoding="utf-8",
    )
    done = run(env, "import", str(file), "--new", "Huyện Bát Sát")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Huyện Bát Sát" in run(env, "ask", "/top 3 huyen 2023").stdout
