"""What the bot loads at start: openpyxl (and numpy, which it may pull in) only when
an XLSX export or the template is asked for, matplotlib only for a chart; pydantic
only with the Zalo channel; babel's locale data only for a date with names in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("openpyxl", "numpy", "matplotlib")
# ≈ 9 MB and a tenth of a second at every start before they went (bot/settings.py)
SETTINGS_LIBRARIES = ("pydantic", "pydantic_settings", "pydantic_core")
# the offline console, never with `python -m bot run`; babel: English dates only; the
# export's module and the template's: the first export or /mau
ON_FIRST_USE = ("bot.console", "babel", "ranking.export", "bot.template")
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


# the upload path (the reader, the importer, python-calamine) loads with the first
# upload, or with shipped data a database does not have yet; rapidfuzz only for a
# typo in a large index
UPLOAD_PATH = ("ranking.reader", "ranking.importer", "python_calamine", "rapidfuzz")


def test_the_bot_starts_without_the_upload_path() -> None:
    assert loaded_after(START, UPLOAD_PATH) == []


def load_shipped(db: Path) -> str:
    return (
        "import asyncio\nfrom pathlib import Path\nfrom ranking.catalog import load_catalog\n"
        "from ranking.publishing import load_shipped_data\nfrom ranking.store import Store\n"
        "async def main():\n"
        f"    store = await Store.open(Path({str(db)!r}))\n"
        "    try:\n"
        "        print(*await load_shipped_data(store, load_catalog()), end=' ')\n"
        "    finally:\n"
        "        await store.close()\n"
        "asyncio.run(main())"
    )


def test_a_database_with_the_shipped_data_starts_without_the_reader(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    first = loaded_after(load_shipped(db), UPLOAD_PATH)
    assert "ranking.importer" in first  # a new database: the shipped files are read
    assert any(name.endswith(".csv") for name in first)  # and were loaded
    assert loaded_after(load_shipped(db), UPLOAD_PATH) == []


def test_a_typo_loads_rapidfuzz_only_for_a_large_index() -> None:
    small = "[(1, 'cds', 'Sở Tài chính', 'so tai chinh')]"
    large = "[(i, 'cds', f'Xã {i}', f'xa {i}') for i in range(LCS_BOUND_ABOVE + 1)]"
    search = (
        "from ranking.lookup import LCS_BOUND_ABOVE, UnitIndex\n"
        "UnitIndex({}).search('zzq kwx')"  # no word near: the similarity search
    )
    assert loaded_after(search.format(small), UPLOAD_PATH) == []
    assert loaded_after(search.format(large), UPLOAD_PATH) == ["rapidfuzz"]


def test_the_collector_is_off_only_while_the_program_starts() -> None:
    """bot/__main__.py turns it off as a program, not when imported (as here); once
    the channels run it is on again, with what the start built frozen."""
    import gc

    import bot.__main__  # noqa: F401 - imported, not run
    from bot.service import started

    assert gc.isenabled()
    gc.disable()
    try:
        started()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
    started()  # on already: left as it is, nothing frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0
