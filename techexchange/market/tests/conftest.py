"""Market test fixtures: a private search index directory per test."""

from __future__ import annotations

import pytest

from techexchange.market import matching


@pytest.fixture(autouse=True)
def _market_index(tmp_path, settings):
    settings.MARKET_INDEX_DIR = str(tmp_path / "search")
    matching.reset_indexes()
    yield
    matching.reset_indexes()
