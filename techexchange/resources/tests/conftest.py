"""Fixtures of the resources tests: a fresh search index directory for every test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _search_dir(settings, tmp_path):
    settings.SEARCH_INDEX_DIR = str(tmp_path / "search")
