"""What the bot loads at start: openpyxl (and numpy, which it may pull in) only when
an XLSX export or the template is asked for, matplotlib only for a chart."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openpyxl", "numpy", "matplotlib")


def loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


def test_the_bot_starts_without_the_heavy_libraries() -> None:
    assert loaded_after("import bot.cli, bot.service, bot.channels.telegram.app") == []


def test_an_xlsx_export_loads_openpyxl_when_asked() -> None:
    statement = "import ranking.export as e\ne.to_xlsx(e.HEADERS, [])"
    assert "openpyxl" in loaded_after(statement)
