"""The question corpus (tests/questions/*.tsv): reading it and checking a reply.

Each line: the question as an official types it, the intent it asks (a label for
the reader), and the fragments the reply must hold, joined by " && "; a fragment
written "!…" must not be in it. The reply checked is what a user sees: the plain
text of the private-chat answer and the labels of its choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

CORPUS_DIR = Path(__file__).resolve().parent.parent / "questions"
# what the terminal summary reports: (answered right, asked)
SHARE: pytest.StashKey[tuple[int, int]] = pytest.StashKey()


@dataclass(frozen=True)
class Question:
    file: str
    line: int
    text: str
    intent: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]

    def misses(self, reply: str) -> list[str]:
        """The fragments the reply gets wrong (none: answered right)."""
        wrong = [f for f in self.must if f not in reply]
        wrong += ["!" + f for f in self.must_not if f in reply]
        return wrong


def load_corpus(folder: Path = CORPUS_DIR) -> list[Question]:
    questions = []
    for path in sorted(folder.glob("*.tsv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            text, intent, expected = line.split("\t")
            fragments = [f.strip() for f in expected.split(" && ") if f.strip()]
            questions.append(
                Question(
                    file=path.name,
                    line=number,
                    text=text,
                    intent=intent,
                    must=tuple(f for f in fragments if not f.startswith("!")),
                    must_not=tuple(f[1:] for f in fragments if f.startswith("!")),
                )
            )
    return questions
