"""The console renders the same Reply a private chat gets, choices as numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.answers import Answers
from bot.console import Console
from ranking.queries import Rankings

ROOT = Path(__file__).resolve().parent.parent


async def test_a_unit_choice_is_numbered_and_the_number_opens_the_card(
    rankings: Rankings,
) -> None:
    console = Console(Answers(rankings))
    listing = await console.say("so")
    assert listing is not None
    assert "[1] Sở Giáo dục và Đào tạo" in listing
    assert "[2] Sở Tài chính" in listing
    card = await console.say("2")
    assert card is not None
    assert "🏛 Sở Tài chính" in card and "603,2/1.000" in card
    # the card's own choices replace the list's
    assert "[1] Xếp hạng nhóm Có TTHC" in card


async def test_ranking_choices_switch_group_and_a_year_is_not_a_choice(
    rankings: Rankings,
) -> None:
    console = Console(Answers(rankings))
    top = await console.say("/top 3 huyen")
    assert top is not None and "1. Thành phố Lào Cai" in top
    switched = await console.say("1")  # the first group button: có TTHC
    assert switched is not None and "1. Sở Giáo dục và Đào tạo" in switched
    # a number beyond the choices is read as a message, not as a choice
    answer = await console.say("/top 2022")
    assert answer is not None and "2022" in answer


async def test_language_choice_by_number_switches_the_console(rankings: Rankings) -> None:
    console = Console(Answers(rankings))
    menu = await console.say("/ngonngu")
    assert menu is not None and "[2]" in menu
    await console.say("2")  # English
    assert console.lang == "en"
    answer = await console.say("/top 1 huyen")
    assert answer is not None and "digital-transformation ranking" in answer


def test_python_m_bot_ask_prints_numbered_choices(tmp_path: Path) -> None:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "c.sqlite3")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask"],
        input="so\n2\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[2] Sở Tài chính" in done.stdout
    assert "603,2/1.000" in done.stdout
    assert "Traceback" not in done.stderr
