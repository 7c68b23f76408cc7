"""What the bot loads at start: openpyxl (and numpy, which it may pull in) only when
an XLSX export or the template is asked for, matplotlib only for a chart; pydantic
only with the Zalo channel; babel's locale data only for a date with names in it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openpyxl", "numpy", "matplotlib")
# ≈ 9 MB and a tenth of a second at every start before they went (bot/settings.py)
SETTINGS_LIBRARIES = ("pydantic", "pydantic_settings", "pydantic_core")
# the offline console, never with `python -m bot run`; babel: English dates only
ON_FIRST_USE = ("bot.console", "babel")
START = "import bot.cli, bot.service, bot.channels.telegram.app"


def loaded_after(statement: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {names!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


def test_the_bot_starts_without_the_heavy_libraries() -> None:
    assert loaded_after(START) == []


def test_the_bot_starts_without_pydantic_babel_or_the_console() -> None:
    assert loaded_after(START, SETTINGS_LIBRARIES + ON_FIRST_USE) == []


def test_a_vietnamese_answer_loads_no_locale_data() -> None:
    statement = (
        f"{START}\nfrom bot.i18n import Translator\nfrom decimal import Decimal\n"
        "t = Translator('vi'); t.number(Decimal('651.93')); t.date('2023-04-11')\n"
        "import babel.localedata\n"
        "print('locale-data' if babel.localedata._cache else '', end=' ')"
    )
    assert loaded_after(statement) == []


def test_the_zalo_channel_still_gets_pydantic() -> None:
    assert "pydantic" in loaded_after("import bot.channels.zalo.client", SETTINGS_LIBRARIES)


def test_an_xlsx_export_loads_openpyxl_when_asked() -> None:
    statement = "import ranking.export as e\ne.to_xlsx(e.HEADERS, [])"
    assert "openpyxl" in loaded_after(statement)


# httpx imports its command-line client whenever rich and click are importable; the dev tool
# that brought them (import-linter) lives in .venv-lint (scripts/lint-requirements.txt)
TERMINAL_LIBRARIES = ("rich", "click", "pygments")


def test_the_bot_starts_without_httpx_command_line_libraries() -> None:
    assert loaded_after(START, TERMINAL_LIBRARIES) == []
