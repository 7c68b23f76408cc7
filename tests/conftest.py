"""Shared fixtures. Hypothesis runs 10,000 examples with RANKBOT_LONG=1."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ranking import publishing
from ranking.catalog import DATA_DIR, Catalog, load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store
from tests.support.corpus import SHARE

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("long" if os.environ.get("RANKBOT_LONG") == "1" else "default")


# The tests written for the 2022 data set run on it alone: the data shipped since
# (2023, the DTI 2024, the 2025 reorganisation) would change their newest year and
# their version numbers. Tests of the whole shipped set are marked `all_shipped_data`.
SHIPPED_2022 = ("dti-2022.csv", "laocai-cds-2022.csv")


@pytest.fixture(autouse=True)
def shipped_2022(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if request.node.get_closest_marker("all_shipped_data"):
        return
    folder = tmp_path_factory.getbasetemp() / "shipped-2022"
    if not folder.exists():
        folder.mkdir()
        for name in SHIPPED_2022:
            shutil.copy(DATA_DIR / name, folder / name)
    monkeypatch.setattr(publishing, "SHIPPED_DIR", folder)
    monkeypatch.setenv("RANKBOT_DATA_DIR", str(folder))  # `python -m bot …` run by a test


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    st = await Store.open(tmp_path / "test.sqlite3")
    try:
        yield st
    finally:
        await st.close()


@pytest.fixture
async def rankings(store: Store, catalog: Catalog) -> Rankings:
    await load_shipped_data(store, catalog)
    return Rankings(store, catalog)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The share of the question corpus answered right, in every run that asked it."""
    share = terminalreporter.config.stash.get(SHARE, None)
    if share is not None:
        right, asked = share
        terminalreporter.write_line(
            f"question corpus: {right}/{asked} answered right ({100 * right / asked:.1f} %)"
        )
