"""API schemas of regions."""

from __future__ import annotations

from decimal import Decimal

from ninja import Schema


class RegionRefOut(Schema):
    """A region named by code."""

    code: str
    name_zh: str
    name_en: str


class RegionOut(Schema):
    """A region with its place in the hierarchy."""

    code: str
    name_zh: str
    name_en: str
    level: str
    parent: RegionRefOut | None
    stat_group: str
    latitude: Decimal | None
    longitude: Decimal | None


class BlocOut(Schema):
    """A bloc with its member regions."""

    code: str
    name_zh: str
    name_en: str
    description: str
    members: list[RegionRefOut]
