"""Rankings, groups and band schemes, loaded from data/catalog.toml."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from ranking.text import fold

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


# Frozen dataclasses, not pydantic models: the catalog is a few dozen records read at
# start, and pydantic alone costs every process ≈ 5 MB and a tenth of a second to
# import. What pydantic did with catalog.toml's values is done here: lists become
# tuples, a level's bound a Decimal (from its text, digits kept), a publisher's table
# a Publisher; keys the records do not know are ignored, as they were.
def _known(cls: type, spec: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in spec.items() if k in names}


@dataclass(frozen=True, kw_only=True)
class Level:
    """One band of a scheme: applies when share of the max is strictly above `above`."""

    code: str
    above: Decimal
    name_vi: str
    name_en: str

    def __post_init__(self) -> None:
        if not isinstance(self.above, Decimal):
            object.__setattr__(self, "above", Decimal(str(self.above)))

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True, kw_only=True)
class Publisher:
    """Who publishes a ranking, from the edition (year assessed) `from_year` on."""

    from_year: int
    name_vi: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True, kw_only=True)
class Ranking:
    code: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...]
    band_scheme: str | None = None
    default: bool = False
    publishers: tuple[Publisher, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", tuple(self.aliases))
        publishers = tuple(
            p if isinstance(p, Publisher) else Publisher(**_known(Publisher, p))
            for p in self.publishers
        )
        object.__setattr__(self, "publishers", publishers)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    def publisher(self, year: int) -> Publisher | None:
        """The publisher of the `year` edition (the latest one from before it)."""
        earlier = [p for p in self.publishers if p.from_year <= year]
        return max(earlier, key=lambda p: p.from_year) if earlier else None


@dataclass(frozen=True, kw_only=True)
class Group:
    code: str
    ranking: str
    name_vi: str
    name_en: str
    short_vi: str
    short_en: str
    aliases: tuple[str, ...]
    note_vi: str | None = None  # shown when a year without it is asked for
    note_en: str | None = None
    created_by_version: int | None = None  # None: from data/catalog.toml

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", tuple(self.aliases))

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    def short(self, lang: str) -> str:
        return self.short_en if lang == "en" else self.short_vi

    def note(self, lang: str) -> str | None:
        return self.note_en if lang == "en" else self.note_vi


@dataclass(frozen=True, kw_only=True)
class Catalog:
    rankings: dict[str, Ranking]
    groups: dict[str, Group]
    band_schemes: dict[str, tuple[Level, ...]]

    @property
    def default_ranking(self) -> str:
        return next(code for code, r in self.rankings.items() if r.default)

    def groups_of(self, ranking: str) -> list[Group]:
        return [g for g in self.groups.values() if g.ranking == ranking]

    def levels(self, ranking: str) -> tuple[Level, ...]:
        scheme = self.rankings[ranking].band_scheme
        return self.band_schemes[scheme] if scheme else ()

    def group_aliases(self) -> dict[str, str]:
        """Folded alias → group code, including each code and name."""
        table: dict[str, str] = {}
        for group in self.groups.values():
            for alias in (group.code, group.name_vi, group.short_vi, *group.aliases):
                table[fold(alias)] = group.code
        return table

    def ranking_aliases(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for ranking in self.rankings.values():
            for alias in (ranking.code, *ranking.aliases):
                table[fold(alias)] = ranking.code
        return table

    def with_groups(self, extra: list[Group]) -> Catalog:
        """This catalog and the groups uploads created (the shipped ones win a clash)."""
        if not extra:
            return self
        groups = dict(self.groups)
        for group in extra:
            groups.setdefault(group.code, group)
        return dataclasses.replace(self, groups=groups)

    def find_group(self, text: str) -> Group | None:
        code = self.group_aliases().get(fold(text))
        return self.groups[code] if code else None

    def find_ranking(self, text: str) -> Ranking | None:
        code = self.ranking_aliases().get(fold(text))
        return self.rankings[code] if code else None


def parse_catalog(raw: dict[str, object]) -> Catalog:
    rankings = {
        code: Ranking(**_known(Ranking, {**spec, "code": code}))  # publishers: tables
        for code, spec in raw["rankings"].items()  # type: ignore[attr-defined]
    }
    groups = {spec["code"]: Group(**_known(Group, spec)) for spec in raw["groups"]}  # type: ignore[attr-defined]
    schemes = {
        name: tuple(
            sorted((Level(**_known(Level, lvl)) for lvl in levels), key=lambda lv: -lv.above)
        )
        for name, levels in raw["band_schemes"].items()  # type: ignore[attr-defined]
    }
    return Catalog(rankings=rankings, groups=groups, band_schemes=schemes)


@cache
def load_catalog(path: Path = DATA_DIR / "catalog.toml") -> Catalog:
    with path.open("rb") as fh:
        return parse_catalog(tomllib.load(fh))
