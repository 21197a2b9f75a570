"""The navigation: the platform's three areas and their pages, shown only where they exist."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

__all__ = ["NavItem", "nav_items"]


@dataclass(frozen=True)
class NavItem:
    """One navigation entry; `url_name` must resolve or the entry is hidden."""

    label: str | Promise
    url_name: str
    area: str


# Later apps add their entries here; an entry whose URL does not exist yet is not shown.
NAV: tuple[NavItem, ...] = (
    NavItem(_("资源共享"), "resources:search", "resources"),
    NavItem(_("技术市场"), "market:home", "market"),
    NavItem(_("技术合同"), "contracts:stats", "contracts"),
    NavItem(_("机构名录"), "web:organisations", "directory"),
    NavItem(_("接口文档"), "api:openapi-view", "api"),
)


def nav_items() -> list[dict[str, str]]:
    """The entries whose pages exist, with their URLs."""
    items = []
    for item in NAV:
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": str(item.label), "url": url, "area": item.area})
    return items
