"""Inclusion tags of the market pages: instruments relevant to a listing or a challenge, and a
challenge's candidate teams and experts (one engine query per section, five results each)."""

from __future__ import annotations

from typing import Any

from django import template

from techexchange.core import clock
from techexchange.market import crossmatch
from techexchange.market.models import Challenge, TechnologyOffer, TechnologyRequest

register = template.Library()

SHOWN = 5


@register.inclusion_tag("market/_related_resources.html")
def related_resources(subject: TechnologyOffer | TechnologyRequest | Challenge) -> dict[str, Any]:
    """Shared instruments relevant to a listing or a challenge (public catalogue data)."""
    return {"resources": crossmatch.related_resources(subject, limit=SHOWN)}


@register.inclusion_tag("market/_challenge_candidates.html", takes_context=True)
def challenge_candidates(context: template.Context, challenge: Challenge) -> dict[str, Any]:
    """Candidate teams and experts (to those who may see them), then relevant instruments."""
    request = context.get("request")
    user = getattr(request, "user", None)
    shown = crossmatch.may_see_candidates(user, challenge)
    found = (
        crossmatch.challenge_candidates(challenge, now=clock.now(), limit=SHOWN) if shown else None
    )
    return {
        "shown": shown,
        "teams": found.teams if found else [],
        "experts": found.experts if found else [],
        "resources": crossmatch.related_resources(challenge, limit=SHOWN),
    }
