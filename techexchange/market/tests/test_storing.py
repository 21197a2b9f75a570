"""The recompute's plain-row storing stores and notifies what the ORM path did, and skips no-ops."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction

from techexchange.accounts.models import OrgRole, User
from techexchange.accounts.tests.factories import make_member, make_user
from techexchange.market import services, storing
from techexchange.market.codes import ListingKind
from techexchange.market.models import (
    ExpressionOfInterest,
    Listing,
    MatchRecommendation,
    Notification,
)
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    offer_input,
    published,
    request_input,
    zj_university,
)
from techexchange.market.tests.reference import orm_store_and_alert
from techexchange.search import Candidate, Component, Match, Need, rank_candidates

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(days=1)


def _snapshot() -> dict[str, Any]:
    """Everything storing leaves behind, ids given as their order of creation."""
    recs = list(MatchRecommendation.objects.order_by("need_id", "rank"))
    order = {pk: i for i, pk in enumerate(sorted(r.pk for r in recs))}
    return {
        "recs": [
            (
                order[r.pk],
                r.need_id,
                r.candidate_id,
                r.rank,
                r.score,
                r.components,
                r.reason_zh,
                r.reason_en,
                r.alerted_at,
            )
            for r in recs
        ],
        "notes": list(
            Notification.objects.order_by("pk").values_list(
                "user_id",
                "event",
                "title",
                "body",
                "url",
                "created_at",
                "read_at",
                "in_app",
                "digest_pending",
                "emailed_at",
            )
        ),
        "mails": [(m.subject, m.body, m.to) for m in mail.outbox],
    }


def _candidates(ids: Sequence[int], salt: int) -> list[Candidate]:
    return [
        Candidate(
            id=str(pk),
            text_score=1.0 + (pk * 7 + salt) % 11,
            fields=frozenset({"new_energy" if (pk + salt) % 2 else "agriculture"}),
            maturity=3 + (pk + salt) % 6,
            modes=frozenset({"licence" if pk % 3 else "transfer"}),
            regions=frozenset({"320000" if (pk + salt) % 4 else "340000"}),
            price_min=[3e5, 8e5, 2e6][(pk + salt) % 3],
            updated_at=NOW - timedelta(days=(pk * 13 + salt) % 300, seconds=pk),
        )
        for pk in ids
    ]


NEED = Need(
    text="固态电解质",
    fields=frozenset({"new_energy"}),
    maturity_min=5,
    maturity_max=8,
    modes=frozenset({"licence"}),
    regions=("320000",),
    budget=1e6,
)


def _scenario(settings: Any) -> tuple[list[Any], list[Any], list[User]]:
    """Two requesting organisations with members of every preference, and offers."""
    settings.MARKET_MATCH_ALERT_THRESHOLD = 0.5
    firm, uni, other = ah_enterprise(), zj_university(), zj_university()
    people = [
        make_member(firm, OrgRole.ADMIN),  # default: in-app and the digest
        make_member(firm),
        make_member(firm),
        make_user(),  # no e-mail address, at once
        make_member(uni),
    ]
    services.set_notification_preference(
        user=people[1], event="match_alert", in_app=True, email="instant"
    )
    services.set_notification_preference(
        user=people[2], event="match_alert", in_app=False, email="off"
    )
    User.objects.filter(pk=people[3].pk).update(email="")
    people[3].memberships.create(organisation=firm, role=OrgRole.MEMBER)
    services.set_notification_preference(
        user=people[3], event="match_alert", in_app=True, email="instant"
    )
    gone = make_member(firm)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    needs = [
        published(ListingKind.REQUEST, firm, request_input()),
        published(ListingKind.REQUEST, uni, request_input(title_zh="“引号”与换行\n的需求")),
        published(ListingKind.REQUEST, firm, request_input(title_zh="第三项需求")),
    ]
    offers = [
        published(ListingKind.OFFER, owner, offer_input(title_zh=f"成果{i}"))
        for i, owner in enumerate([other, uni, other, firm, other, uni, other, other])
    ]
    return needs, offers, people


def _rounds(needs: Sequence[Listing], offers: Sequence[Listing]) -> list[list[Any]]:
    """A first run, one where some matches change, one where nothing does."""
    ids = [o.pk for o in offers]
    first = [rank_candidates(NEED, _candidates([*ids[i:], 999_999], i), now=NOW) for i in range(3)]
    second = [first[0], rank_candidates(NEED, _candidates(ids[:5], 9), now=NOW), first[2][2:]]
    return [
        list(zip(needs, first, strict=True)),
        list(zip(needs, second, strict=True)),
        list(zip(needs, second, strict=True)),
    ]


def _run(way: Any, rounds: list[list[Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for batch in rounds:
        way(batch, now=LATER if out else NOW, limit=4)
        out.append(_snapshot())
    return out


def test_plain_rows_store_and_notify_exactly_what_the_orm_path_did(settings):
    needs, offers, _ = _scenario(settings)
    rounds = _rounds(needs, offers)
    mail.outbox.clear()
    with transaction.atomic():  # run the reference, remember, then undo it
        expected = _run(orm_store_and_alert, rounds)
        transaction.set_rollback(True)
    mail.outbox.clear()
    got = _run(services._store_and_alert, rounds)

    assert got == expected
    first = expected[0]
    assert {r[1] for r in first["recs"]} == {n.pk for n in needs}  # not vacuous
    assert all(len([r for r in first["recs"] if r[1] == n.pk]) <= 4 for n in needs)
    assert first["notes"] and first["mails"]
    assert expected[1]["recs"] != first["recs"]
    assert len(expected[2]["notes"]) == len(expected[1]["notes"])  # alerted once


def test_unchanged_rows_are_not_written_and_keep_their_computed_at(settings):
    needs, offers, _ = _scenario(settings)
    rounds = _rounds(needs, offers)
    services._store_and_alert(rounds[0], now=NOW, limit=4)
    services._store_and_alert(rounds[1], now=LATER, limit=4)
    before = {
        (r.need_id, r.candidate_id): (r.pk, r.computed_at)
        for r in MatchRecommendation.objects.all()
    }
    services._store_and_alert(rounds[2], now=LATER + timedelta(days=1), limit=4)
    after = {
        (r.need_id, r.candidate_id): (r.pk, r.computed_at)
        for r in MatchRecommendation.objects.all()
    }
    assert after == before
    # A change of rank alone is written (and keeps the row's id).
    stored = {r.candidate_id for r in MatchRecommendation.objects.filter(need=needs[0])}
    kept = [m for m in rounds[2][0][1] if int(m.candidate.id) in stored]
    assert len(kept) >= 3
    swapped = [kept[1], kept[0], *kept[2:]]
    services._store_and_alert([(needs[0], swapped)], now=LATER + timedelta(days=2), limit=4)
    rows = list(MatchRecommendation.objects.filter(need=needs[0]).order_by("rank"))
    assert [r.candidate_id for r in rows] == [int(m.candidate.id) for m in swapped]
    assert [r.computed_at for r in rows] == [LATER + timedelta(days=2)] * 2 + [
        before[(r.need_id, r.candidate_id)][1] for r in rows[2:]
    ]
    assert [before[(r.need_id, r.candidate_id)][0] for r in rows] == [r.pk for r in rows]


def test_a_row_stored_without_an_alert_is_alerted_when_recomputed_unchanged(settings):
    needs, offers, people = _scenario(settings)
    batch = _rounds(needs, offers)[0]
    for listing, found in batch:
        services.store_recommendations(listing=listing, matches=found[:4], now=NOW)
    assert not MatchRecommendation.objects.filter(alerted_at__isnull=False).exists()
    services._store_and_alert(batch, now=LATER, limit=4)
    high = MatchRecommendation.objects.filter(score__gte=0.5)
    assert high.exists() and all(r.alerted_at == LATER for r in high)
    alerts = Notification.objects.filter(user=people[0], event="match_alert")
    assert alerts.count() == 2  # the firm's two needs


def test_deleting_a_stale_recommendation_unlinks_the_eoi_that_came_from_it(settings):
    needs, offers, people = _scenario(settings)
    first, second = _rounds(needs, offers)[:2]
    services._store_and_alert(first, now=NOW, limit=4)
    rec = MatchRecommendation.objects.filter(need=needs[1]).exclude(
        candidate_id__in=[int(m.candidate.id) for m in second[1][1]]
    )[0]
    eoi = ExpressionOfInterest.objects.create(
        listing=rec.need,
        organisation=rec.candidate.owner,
        sent_by=people[4],
        message="希望合作",
        recommendation=rec,
        components={"text": 0.9},
        sent_at=NOW,
    )
    services._store_and_alert(second, now=LATER, limit=4)
    eoi.refresh_from_db()
    assert eoi.recommendation_id is None and eoi.components == {"text": 0.9}
    assert not MatchRecommendation.objects.filter(pk=rec.pk).exists()


@pytest.mark.parametrize(
    "note",
    ["", "领域一致", 'a "quoted" note\\ with\nnewline\ttab', "\x00\x1f control", "emoji 🔋"],
)
@pytest.mark.parametrize("value", [0.0, 1.0, 0.12345, 1e-7, 123456.789, 2])
def test_component_json_reads_back_as_the_components(note, value):
    c = Component("text", value, 0.33333, note, note[::-1])
    match = Match(Candidate(id="1"), 0.5, (c, Component("field", 1.0, 0.1)), "理由", "why")
    text, _ = storing.components_texts(match)
    assert storing.components_texts(match)[0] == text  # memoised the same
    assert json.loads(text) == storing.components(match)
    assert text == json.dumps(storing.components(match), ensure_ascii=False, separators=(",", ":"))


def test_the_database_gives_back_the_components_text_storing_expects(settings):
    # Only speed depends on it (a mismatch is parsed and compared), so check it holds.
    needs, offers, _ = _scenario(settings)
    batch = _rounds(needs, offers)[0]
    services._store_and_alert(batch, now=NOW, limit=8)
    expected = {
        (listing.pk, int(m.candidate.id)): storing.components_texts(
            m, jsonb=connection.vendor == "postgresql"
        )[1]
        for listing, found in batch
        for m in found
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT need_id, candidate_id, components FROM market_matchrecommendation")
        stored = {(n, c): text for n, c, text in cursor.fetchall()}
    assert len(stored) >= 6
    assert stored == {key: expected[key] for key in stored}


def test_an_empty_chunk_stores_nothing():
    assert storing.store_batch([], now=NOW, limit=4, alert_threshold=0.5) == []
    storing.send_alerts([], now=NOW)
    assert not MatchRecommendation.objects.exists() and not Notification.objects.exists()
