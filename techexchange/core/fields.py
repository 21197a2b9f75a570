"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class CodeField(models.CharField):  # type: ignore[type-arg]
    """Text holding codes (region codes, numbers, enumeration values), compared byte by byte.

    On PostgreSQL the column gets the "C" collation: the database's default (here C.UTF-8)
    goes through the C library's strcoll on every comparison, which sorts, unique checks and
    index writes of codes do millions of times in a bulk import (docs/benchmarks-contracts.md).
    For ASCII codes the order is the same. SQLite compares bytes already (BINARY).
    """

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params: dict[str, Any] = super().db_parameters(connection)
        if connection.vendor == "postgresql" and not self.db_collation:
            params["collation"] = "C"
        return params
