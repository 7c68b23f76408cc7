"""Rankings that change shape over the years (issue #13), below the importer:
groups by year, shares without scores, names per year, lineage and moves."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.answers import Answers
from bot.i18n import Translator
from bot.reply import to_plain
from ranking.bands import level_for_share
from ranking.catalog import Catalog
from ranking.queries import Rankings, title_of
from ranking.store import NewGroup, NewLink, NewScore, NewSlice, Store
from ranking.text import expand

SOURCE = "QĐ 1/QĐ-UBND ngày 1/3/2026"


def score(name: str, rank: int, value: str | None, share: str | None = None) -> NewScore:
    return NewScore(
        name=name,
        name_key=expand(name),
        score=None if value is None else Decimal(value),
        rank=rank,
        rank_official=True,
        published_level=None,
        note=None,
        components={},
        source=SOURCE,
        source_row=None,
        share=None if share is None else Decimal(share),
    )


def slice_of(year: int, group: str, count: int, *rows: NewScore, ranking: str = "cds") -> NewSlice:
    return NewSlice(
        ranking=ranking,
        year=year,
        group_code=group,
        max_score=Decimal(1000) if ranking == "cds" else Decimal(1),
        unit_count=count,
        band_scheme="cds4" if ranking == "cds" else None,
        source=SOURCE,
        rows=rows,
    )


async def commit(
    store: Store,
    *slices: NewSlice,
    groups: Sequence[NewGroup] = (),
    links: Sequence[NewLink] = (),
) -> int:
    return await store.scores.commit_version(
        list(slices),
        file_name="f.csv",
        sha256=str(id(slices)),
        uploaded_by=None,
        groups=groups,
        links=links,
    )


XA = NewGroup(
    code="xa-phuong",
    ranking="cds",
    name_vi="Xã, phường",
    name_en="Xã, phường",
    short_vi="Xã, phường",
    short_en="Xã, phường",
    aliases=("xa phuong", "xa"),
)


def test_title_keeps_the_better_written_name() -> None:
    assert title_of(["Huyện Bắc Hà", "Huyen Bac Ha"]) == "Huyện Bắc Hà"
    assert title_of(["Huyện Bắc Hà", "huyện bắc hà"]) == "Huyện Bắc Hà"
    # a real new name wins
    assert title_of(["Sở Thông tin và Truyền thông", "Sở Khoa học và Công nghệ"]) == (
        "Sở Khoa học và Công nghệ"
    )
    assert title_of(["Huyen Bac Ha", "Huyện Bắc Hà"]) == "Huyện Bắc Hà"


def test_a_share_has_a_level_by_the_same_strict_rules(catalog: Catalog) -> None:
    levels = catalog.levels("cds")
    assert level_for_share(Decimal("71.77"), levels).code == "nang_cao"  # type: ignore[union-attr]
    assert level_for_share(Decimal("75"), levels).code == "nang_cao"  # type: ignore[union-attr]
    assert level_for_share(Decimal("75.01"), levels).code == "dan_dat"  # type: ignore[union-attr]
    assert level_for_share(Decimal("25"), levels).code == "khoi_dong"  # type: ignore[union-attr]


async def test_created_groups_answer_and_a_missing_group_names_the_years_groups(
    store: Store, catalog: Catalog
) -> None:
    await commit(store, slice_of(2024, "huyen", 9, score("Huyện Bắc Hà", 1, "600")))
    await commit(
        store,
        slice_of(2025, "xa-phuong", 99, score("Xã Bắc Hà", 1, "800"), score("Phường A", 2, "700")),
        groups=[XA],
    )
    answers = Answers(Rankings(store, catalog))
    t = Translator("vi")
    top = to_plain((await answers.to_text("/top 3 xa 2025", lang="vi")).text)  # type: ignore[union-attr]
    assert "1. Xã Bắc Hà — 800 (80" in top and "%) · Dẫn dắt" in top
    # the default year is the group's newest, not the ranking's
    huyen = to_plain((await answers.to_text("/top huyen", lang="vi")).text)  # type: ignore[union-attr]
    assert "2024" in huyen and "Huyện Bắc Hà" in huyen
    missing = to_plain((await answers.to_text("/top huyen 2025", lang="vi")).text)  # type: ignore[union-attr]
    assert "Năm 2025 không có nhóm «Huyện, thị xã, thành phố»" in missing
    assert "Cấp huyện không còn từ 01/7/2025" in missing
    assert "Xã, phường" in missing and "/top xa phuong 2025" in missing
    groups = to_plain((await answers.to_text("/nhom 2025", lang="vi")).text)  # type: ignore[union-attr]
    assert "Xã, phường" in groups and "Huyện" not in groups
    assert t("groups.title_year", year=2025).replace("<b>", "").replace("</b>", "") in groups


async def test_share_only_rows_show_the_share_as_published(store: Store, catalog: Catalog) -> None:
    await commit(
        store,
        slice_of(
            2023,
            "tthc",
            18,
            score("Sở Lao động - Thương binh và Xã hội", 1, "731.61", "73.16"),
            score("Sở Y tế", 2, None, "71.77"),
            score("Sở Tài nguyên và Môi trường", 18, None),
        ),
    )
    answers = Answers(Rankings(store, catalog))
    top = to_plain((await answers.to_text("/top 3 tthc 2023", lang="vi")).text)  # type: ignore[union-attr]
    assert "1. Sở Lao động - Thương binh và Xã hội — 731,61 (73,16 %) · Nâng cao" in top
    assert "2. Sở Y tế — 71,77 % (chỉ công bố tỷ lệ) · Nâng cao" in top
    assert "hạng 3 chưa được công bố" in top
    card = to_plain((await answers.to_text("so y te", lang="vi")).text)  # type: ignore[union-attr]
    assert "Tỷ lệ: 71,77 %" in card and "Điểm:" not in card  # no score is invented
    assert "Mức theo tỷ lệ công bố: Nâng cao" in card
    levels = to_plain((await answers.to_text("/muc 2023", lang="vi")).text)  # type: ignore[union-attr]
    assert "Nâng cao: 2" in levels


async def test_lineage_on_both_cards_and_no_move_across_it(store: Store, catalog: Catalog) -> None:
    await commit(
        store,
        slice_of(
            2022,
            "tinh",
            63,
            score("Lào Cai", 38, None),
            score("Yên Bái", 15, None),
            ranking="dti",
        ),
    )
    await commit(
        store, slice_of(2024, "tinh-34", 34, score("Lào Cai", 14, "0.7167"), ranking="dti")
    )
    links = [
        NewLink("dti", "2025-07-01", old, expand(old), "Lào Cai", expand("Lào Cai"), "NQ 202", 2)
        for old in ("Lào Cai", "Yên Bái")
    ]
    await commit(store, links=links)
    answers = Answers(Rankings(store, catalog))
    yen_bai = to_plain((await answers.to_text("/donvi yen bai dti", lang="vi")).text)  # type: ignore[union-attr]
    assert "Từ 01/7/2025 hợp nhất vào Lào Cai" in yen_bai
    assert "hạng 15/63" in yen_bai
    lao_cai = to_plain(
        (await answers.to_text("Lào Cai xếp thứ mấy cả nước?", lang="vi")).text  # type: ignore[union-attr]
    )
    assert "xếp hạng 14/34" in lao_cai and "34 tỉnh, thành phố (sau sắp xếp 2025)" in lao_cai
    assert "Bộ KH&CN" in lao_cai  # the 2024 edition's publisher
    assert "hình thành từ: Lào Cai (cũ), Yên Bái" in lao_cai
    assert "▲" not in lao_cai and "▼" not in lao_cai
    assert "hạng không so sánh trực tiếp" in lao_cai
    in_2022 = to_plain(
        (await answers.to_text("Lào Cai xếp thứ mấy cả nước năm 2022?", lang="vi")).text  # type: ignore[union-attr]
    )
    assert "xếp hạng 38/63" in in_2022 and "Bộ TT&TT" in in_2022


async def test_a_move_across_a_merge_in_the_same_group_is_not_printed(
    store: Store, catalog: Catalog
) -> None:
    await commit(
        store,
        slice_of(
            2024,
            "tthc",
            3,
            score("Sở Khoa học và Công nghệ", 3, "500"),
            score("Sở Thông tin và Truyền thông", 1, "700"),
            score("Sở Y tế", 2, "600"),
        ),
    )
    await commit(
        store,
        links=[
            NewLink(
                "cds",
                "2025-03-01",
                old,
                expand(old),
                "Sở Khoa học và Công nghệ",
                expand("Sở Khoa học và Công nghệ"),
                "NQ 05",
                2,
            )
            for old in ("Sở Khoa học và Công nghệ", "Sở Thông tin và Truyền thông")
        ],
    )
    await commit(
        store,
        slice_of(
            2025,
            "tthc",
            2,
            score("Sở Khoa học và Công nghệ", 1, "800"),
            score("Sở Y tế", 2, "650"),
        ),
    )
    answers = Answers(Rankings(store, catalog))
    top = to_plain((await answers.to_text("/top 2 tthc 2025", lang="vi")).text)  # type: ignore[union-attr]
    assert "1. Sở Khoa học và Công nghệ — 800 (80" in top
    assert "%) · Dẫn dắt · hợp nhất từ 01/3/2025: không so sánh" in top
    assert "nhóm đổi thành phần (3 → 2 đơn vị)" in top  # Sở Y tế: not ▲0, not a rank change
    assert "▲" not in top and "▼" not in top
    compare = to_plain(
        (await answers.to_text("/sosanh so khoa hoc, so y te", lang="vi")).text  # type: ignore[union-attr]
    )
    assert "hợp nhất từ 01/3/2025" in compare and "▲" not in compare
