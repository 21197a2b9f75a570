"""Writes of accounts: sign-up, organisations, memberships, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from techexchange.accounts.codes import PartyNature
from techexchange.accounts.models import (
    ApiToken,
    Membership,
    Organisation,
    OrgRole,
    PlatformRole,
    RoleGrant,
    TransferCentre,
    User,
)
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import require
from techexchange.core import clock
from techexchange.core.audit import audit
from techexchange.core.errors import Problem, ValidationFailed
from techexchange.core.uscc import credit_code_problems, normalise_credit_code
from techexchange.regions.models import Region, RegionLevel

__all__ = [
    "OrganisationInput",
    "create_api_token",
    "grant_role",
    "revoke_api_token",
    "sign_up_organisation",
    "update_organisation",
]


@dataclass(frozen=True)
class OrganisationInput:
    """The fields of an organisation as typed by a person."""

    name_zh: str
    party_nature: str
    province: str
    credit_code: str = ""
    name_en: str = ""
    city: str = ""
    address: str = ""
    website: str = ""
    description: str = ""
    is_sme: bool = False
    is_high_tech_zone: bool = False
    is_transfer_institution: bool = False
    is_rnd_institution: bool = False
    is_listed: bool = False


def _organisation_problems(data: OrganisationInput, *, require_code: bool) -> list[Problem]:
    """Check an organisation input against the rules; every problem names its field."""
    problems: list[Problem] = []
    if not data.name_zh.strip():
        problems.append(Problem("required", "请填写机构名称", "name_zh"))
    elif len(data.name_zh) > 120:
        problems.append(Problem("too_long", "机构名称不能超过120个字符", "name_zh"))
    if data.party_nature not in PartyNature.values:
        problems.append(Problem("invalid_choice", "单位性质代码无效", "party_nature"))
    if require_code or data.credit_code.strip():
        problems += credit_code_problems(data.credit_code, field="credit_code")
    province = Region.objects.filter(code=data.province, level=RegionLevel.PROVINCE).first()
    if province is None:
        problems.append(Problem("unknown_region", "省份代码无效", "province"))
    if data.city:
        city = Region.objects.filter(code=data.city, level=RegionLevel.CITY).first()
        if city is None:
            problems.append(Problem("unknown_region", "城市代码无效", "city"))
        elif province is not None and city.parent_id != province.code:
            problems.append(Problem("city_not_in_province", "城市不属于所选省份", "city"))
    code = normalise_credit_code(data.credit_code)
    if code and not problems and Organisation.objects.filter(credit_code=code).exists():
        problems.append(Problem("duplicate", "该统一社会信用代码的机构已注册", "credit_code"))
    return problems


def _organisation_fields(data: OrganisationInput) -> dict[str, Any]:
    return {
        "name_zh": data.name_zh.strip(),
        "name_en": data.name_en.strip(),
        "credit_code": normalise_credit_code(data.credit_code) or None,
        "party_nature": data.party_nature,
        "province_id": data.province,
        "city_id": data.city or None,
        "address": data.address.strip(),
        "website": data.website.strip(),
        "description": data.description.strip(),
        "is_sme": data.is_sme,
        "is_high_tech_zone": data.is_high_tech_zone,
        "is_transfer_institution": data.is_transfer_institution,
        "is_rnd_institution": data.is_rnd_institution,
        "is_listed": data.is_listed,
    }


@transaction.atomic
def sign_up_organisation(
    *, username: str, email: str, password: str, organisation: OrganisationInput
) -> tuple[User, Organisation]:
    """Create an organisation with its credit code and its first user as org admin."""
    problems = _organisation_problems(organisation, require_code=True)
    if not username.strip():
        problems.append(Problem("required", "请填写用户名", "username"))
    elif User.objects.filter(username=username.strip()).exists():
        problems.append(Problem("duplicate", "用户名已被使用", "username"))
    if "@" not in email:
        problems.append(Problem("invalid_email", "请填写有效的电子邮箱", "email"))
    try:
        validate_password(password, User(username=username, email=email))
    except DjangoValidationError as exc:
        problems.append(Problem("weak_password", "；".join(exc.messages), "password"))
    if problems:
        raise ValidationFailed("注册信息有误", problems=problems)
    try:
        org = Organisation.objects.create(**_organisation_fields(organisation))
    except IntegrityError:
        raise ValidationFailed(
            "注册信息有误",
            problems=[Problem("duplicate", "该统一社会信用代码的机构已注册", "credit_code")],
        ) from None
    user = User.objects.create_user(username=username.strip(), email=email, password=password)
    Membership.objects.create(user=user, organisation=org, role=OrgRole.ADMIN)
    audit(actor=user, action="organisation.sign_up", obj=org, data={"username": user.username})
    return user, org


@transaction.atomic
def update_organisation(
    *, actor: Any, organisation: Organisation, data: OrganisationInput
) -> Organisation:
    """Change an organisation's record (org admin or operator), audited."""
    require(actor, Action.EDIT_ORGANISATION, Target(organisation_id=organisation.pk))
    problems = [
        p
        for p in _organisation_problems(data, require_code=bool(organisation.credit_code))
        if not (
            p.code == "duplicate"
            and normalise_credit_code(data.credit_code) == organisation.credit_code
        )
    ]
    if problems:
        raise ValidationFailed("机构信息有误", problems=problems)
    before = {k: str(getattr(organisation, k)) for k in _organisation_fields(data)}
    for key, value in _organisation_fields(data).items():
        setattr(organisation, key, value)
    organisation.save()
    audit(actor=actor, action="organisation.update", obj=organisation, data={"before": before})
    return organisation


@transaction.atomic
def grant_role(
    *,
    granted_by: Any,
    user: User,
    role: str,
    centre: TransferCentre | None = None,
    region: Region | None = None,
    reason: str = "",
) -> RoleGrant:
    """Give a platform role to a user (operators only), audited; idempotent."""
    if granted_by is not None:
        require(granted_by, Action.ASSIGN_ROLES)
    problems: list[Problem] = []
    if role not in PlatformRole.values:
        problems.append(Problem("invalid_choice", "未知的平台角色", "role"))
    if role == PlatformRole.BROKER and centre is None:
        problems.append(Problem("required", "技术经纪人须属于一个分中心", "centre"))
    if role in (PlatformRole.VOUCHER_OFFICER, PlatformRole.REGISTRAR) and region is None:
        problems.append(Problem("required", "该角色须指定负责地区", "region"))
    if problems:
        raise ValidationFailed("角色信息有误", problems=problems)
    grant, created = RoleGrant.objects.get_or_create(
        user=user, role=role, centre=centre, region=region
    )
    if created:
        audit(actor=granted_by, action="role.grant", obj=grant, reason=reason)
    return grant


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user: User, name: str = "default") -> tuple[ApiToken, str]:
    """Create an API token for `user`; return it with the raw secret (shown once)."""
    require(user, Action.CREATE_API_TOKEN)
    raw = "te_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:80] or "default", prefix=raw[:10], digest=_digest(raw)
    )
    audit(actor=user, action="api_token.create", obj=token)
    return token, raw


@transaction.atomic
def revoke_api_token(*, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None or token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    audit(actor=user, action="api_token.revoke", obj=token)
