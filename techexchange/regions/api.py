"""API of regions and blocs (read-only reference data)."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate

from techexchange.regions import selectors
from techexchange.regions.models import Bloc, Region
from techexchange.regions.schemas import BlocOut, RegionOut

router = Router(tags=["regions"])


@router.get("/", response=list[RegionOut])
@paginate(LimitOffsetPagination)
def list_regions(
    request: HttpRequest,
    level: Literal["province", "city", "district", "statistical"] | None = None,
    parent: str | None = None,
) -> Any:
    """Regions, optionally of one level or under one parent (6- or 4-digit code)."""
    return selectors.list_regions(level=level, parent=parent)


@router.get("/blocs", response=list[BlocOut])
def list_blocs(request: HttpRequest) -> list[Bloc]:
    """Every bloc with its members."""
    return list(Bloc.objects.prefetch_related("members"))


@router.get("/blocs/{code}", response=BlocOut)
def get_bloc(request: HttpRequest, code: str) -> Bloc:
    """One bloc by code (YRD, G60, DEMO_ZONE)."""
    return selectors.get_bloc(code)


@router.get("/{code}", response=RegionOut)
def get_region(request: HttpRequest, code: str) -> Region:
    """One region by 6-digit, 4-digit or statistical code."""
    return selectors.get_region(code)
