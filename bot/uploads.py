"""Import problems → one readable line each (shared by the bot and the CLI)."""

from __future__ import annotations

from bot.i18n import Translator
from ranking.importer import Problem


def problem_line(problem: Problem, t: Translator) -> str:
    where = []
    if problem.row is not None:
        where.append(t("import.where_row", row=problem.row))
    if problem.column:
        where.append(t("import.where_column", column=problem.column))
    text = t(f"import.{problem.code}", **problem.params)
    prefix = t("import.warning_mark") if problem.severity == "warning" else "• "
    return prefix + (", ".join(where) + ": " if where else "") + text
