"""Shared fixtures. Hypothesis runs 10,000 examples with RANKBOT_LONG=1."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ranking.catalog import Catalog, load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("long" if os.environ.get("RANKBOT_LONG") == "1" else "default")


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
