"""Fixtures of the resources tests: a fresh search index directory for every test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _search_dir(settings, tmp_path):
    settings.SEARCH_INDEX_DIR = str(tmp_path / "search")


_REFERENCE: dict[str, str | None] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Keep the reference data that migrations loaded (serialised at test database creation)."""
    from django.db import connection

    _REFERENCE["default"] = getattr(connection, "_test_serialized_contents", None)


@pytest.fixture
def reference_data(transactional_db):
    """Regions and categories present in a transactional test.

    After the browser test (Playwright's sync API switches contexts), the connection object
    Django asks for may lack the serialised contents, so serialized rollback silently skips
    the reload and the flush leaves the reference tables empty: put them back.
    """
    from django.core import serializers
    from django.db import transaction

    from techexchange.regions.models import Region
    from techexchange.resources.models import Category

    saved = _REFERENCE.get("default")
    if Region.objects.exists() or not saved:
        return
    with transaction.atomic():  # foreign keys are checked at commit (deferred)
        for obj in serializers.deserialize("json", saved):
            if isinstance(obj.object, Region | Category):
                obj.save()
