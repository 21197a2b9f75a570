"""API schemas of accounts: separate input and output shapes."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from techexchange.accounts.codes import party_nature_label
from techexchange.regions.schemas import RegionRefOut


class OrganisationOut(Schema):
    """An organisation as anyone may see it."""

    id: int
    name_zh: str
    name_en: str
    credit_code: str | None
    party_nature: str
    party_nature_label: str
    report_category: str
    province: RegionRefOut
    city: RegionRefOut | None
    is_sme: bool
    is_high_tech_zone: bool
    is_transfer_institution: bool
    is_rnd_institution: bool
    is_listed: bool
    is_synthetic: bool

    @staticmethod
    def resolve_party_nature_label(obj: Any) -> str:
        """The party nature's name."""
        return party_nature_label(obj.party_nature)

    @staticmethod
    def resolve_report_category(obj: Any) -> str:
        """The statistical report category."""
        return str(obj.report_category.value)


class OrganisationDetailOut(OrganisationOut):
    """An organisation with contact fields (null unless the caller may see them)."""

    description: str
    address: str | None
    website: str | None

    @staticmethod
    def resolve_address(obj: Any) -> str | None:
        """Shown only where the endpoint allowed contacts."""
        return str(obj.address) if getattr(obj, "contacts_visible", False) else None

    @staticmethod
    def resolve_website(obj: Any) -> str | None:
        """Shown only where the endpoint allowed contacts."""
        return str(obj.website) if getattr(obj, "contacts_visible", False) else None


class OrganisationIn(Schema):
    """An organisation as submitted."""

    name_zh: str = Field(max_length=120)
    name_en: str = Field("", max_length=200)
    credit_code: str = Field(max_length=30)
    party_nature: str = Field(max_length=3)
    province: str = Field(max_length=12)
    city: str = Field("", max_length=12)
    address: str = Field("", max_length=200)
    website: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    is_sme: bool = False
    is_high_tech_zone: bool = False
    is_transfer_institution: bool = False
    is_rnd_institution: bool = False
    is_listed: bool = False


class SignUpIn(Schema):
    """Sign-up of an organisation with its first administrator."""

    username: str = Field(min_length=1, max_length=150)
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=128)
    organisation: OrganisationIn


class SignUpOut(Schema):
    """The created user and organisation."""

    user_id: int
    username: str
    organisation: OrganisationOut


class MeOut(Schema):
    """The caller."""

    id: int
    username: str
    platform_roles: list[str]
    organisations: list[int]
