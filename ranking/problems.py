"""What is wrong (or worth saying) about an uploaded file, as data.

Each problem carries a message key under locales ("import.<code>") with its
parameters, and where it is: the bot and the CLI render it in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Severity = Literal["error", "warning", "info"]
ParamValue = str | int | Decimal


@dataclass(frozen=True)
class Problem:
    code: str  # message key import.<code>
    severity: Severity = "error"
    row: int | None = None
    column: str | None = None  # the column letter as the user sees it
    params: dict[str, ParamValue] = field(default_factory=dict)


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
