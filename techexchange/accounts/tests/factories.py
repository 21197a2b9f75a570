"""Factories for accounts: small functions, deterministic, valid credit codes."""

from __future__ import annotations

import itertools
import random
from typing import Any

from techexchange.accounts.models import (
    Membership,
    Organisation,
    OrgRole,
    RoleGrant,
    TransferCentre,
    User,
)
from techexchange.core.uscc import make_credit_code

_serial = itertools.count(1)
_rng = random.Random(20261127)

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str | None = None, **kwargs: Any) -> User:
    """A user with the test password."""
    name = username or f"user{next(_serial)}"
    return User.objects.create_user(
        username=name, email=f"{name}@example.invalid", password=PASSWORD, **kwargs
    )


def make_organisation(
    *, province: str = "320000", city: str | None = "320500", nature: str = "150", **kwargs: Any
) -> Organisation:
    """An organisation with a valid credit code in `city`."""
    n = next(_serial)
    return Organisation.objects.create(
        name_zh=kwargs.pop("name_zh", f"测试机构{n}有限公司"),
        credit_code=kwargs.pop("credit_code", make_credit_code(_rng, region_code=city or province)),
        party_nature=nature,
        province_id=province,
        city_id=city,
        **kwargs,
    )


def make_member(org: Organisation, role: str = OrgRole.MEMBER, **kwargs: Any) -> User:
    """A user belonging to `org` with `role`."""
    user = make_user(**kwargs)
    Membership.objects.create(user=user, organisation=org, role=role)
    return user


def make_centre(*, code: str | None = None, city: str = "340100") -> TransferCentre:
    """A sub-centre under a fresh parent centre."""
    n = next(_serial)
    parent = TransferCentre.objects.create(
        code=f"P{n}", name_zh=f"中心{n}", province_id="310000", city_id="310100"
    )
    return TransferCentre.objects.create(
        code=code or f"S{n}",
        name_zh=f"分中心{n}",
        parent=parent,
        province_id=city[:2] + "0000",
        city_id=city,
    )


def grant(user: User, role: str, **scope: Any) -> RoleGrant:
    """Give `user` a platform role directly (no permission check)."""
    return RoleGrant.objects.create(user=user, role=role, **scope)
