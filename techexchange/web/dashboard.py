"""The home dashboard's headline figures, gathered live from each app's selectors."""

from __future__ import annotations

from typing import Any

from techexchange.accounts.codes import ReportCategory
from techexchange.accounts.selectors import organisation_figures
from techexchange.contracts.selectors import contract_figures
from techexchange.core import clock
from techexchange.market.selectors import headline_figures as market_figures
from techexchange.regions.selectors import yrd_provinces
from techexchange.resources.selectors import resource_figures

__all__ = ["headline_figures"]


def headline_figures() -> dict[str, Any]:
    """Figures for the home page: organisations by type and province (later: resources, …)."""
    orgs = organisation_figures()
    provinces = list(yrd_provinces())
    rows = []
    for province in provinces:
        cells = orgs["matrix"].get(province.code, {})
        rows.append(
            {
                "province": province,
                "total": orgs["by_province"].get(province.code, 0),
                "cells": [cells.get(c.value, 0) for c in ReportCategory],
            }
        )
    other_total = orgs["total"] - sum(r["total"] for r in rows)
    return {
        "organisations": orgs["total"],
        "centres": orgs["centres"],
        "contracts": contract_figures(),
        "resources": resource_figures(),
        "market": market_figures(now=clock.now()),
        "categories": [
            {"label": c.label, "count": orgs["by_category"][c.value]} for c in ReportCategory
        ],
        "category_labels": [c.label for c in ReportCategory],
        "province_rows": rows,
        "other_regions": other_total,
    }
