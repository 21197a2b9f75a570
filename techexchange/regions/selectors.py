"""Reads of regions and blocs."""

from __future__ import annotations

from django.db.models import QuerySet

from techexchange.core.errors import NotFound
from techexchange.regions.models import Bloc, Region, RegionLevel

__all__ = [
    "get_bloc",
    "get_region",
    "list_cities",
    "list_provinces",
    "list_regions",
    "normalise_region_code",
    "yrd_provinces",
]


def normalise_region_code(code: str) -> str:
    """Turn a 4-digit (older forms) or 6-digit code into the 6-digit form; pass others through."""
    text = code.strip()
    if len(text) == 4 and text.isdigit():
        return text + "00"
    if len(text) == 2 and text.isdigit():
        return text + "0000"
    return text.upper() if not text.isdigit() else text


def get_region(code: str) -> Region:
    """Return the region with this 6-digit, 4-digit or statistical code, or raise NotFound."""
    normal = normalise_region_code(code)
    try:
        return Region.objects.select_related("parent").get(code=normal)
    except Region.DoesNotExist:
        raise NotFound(f"未知的行政区划代码：{code}", code="unknown_region") from None


def list_regions(*, level: str | None = None, parent: str | None = None) -> QuerySet[Region]:
    """List regions, optionally of one level or under one parent code."""
    qs = Region.objects.select_related("parent").all()
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent_id=normalise_region_code(parent))
    return qs


def list_provinces() -> QuerySet[Region]:
    """List province-level regions."""
    return Region.objects.filter(level=RegionLevel.PROVINCE)


def yrd_provinces() -> QuerySet[Region]:
    """The four YRD provinces, in code order."""
    return Region.objects.filter(blocs__code="YRD").order_by("code")


def list_cities(*, province: str | None = None) -> QuerySet[Region]:
    """List prefecture-level cities, optionally of one province."""
    qs = Region.objects.filter(level=RegionLevel.CITY).select_related("parent")
    if province:
        qs = qs.filter(parent_id=normalise_region_code(province))
    return qs


def get_bloc(code: str) -> Bloc:
    """Return a bloc by code, or raise NotFound."""
    try:
        return Bloc.objects.get(code=code.upper())
    except Bloc.DoesNotExist:
        raise NotFound(f"未知的区域板块：{code}", code="unknown_bloc") from None
