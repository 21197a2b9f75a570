"""The wait list: a freed slot is offered to the first waiting user by e-mail, and held."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from techexchange.accounts.models import OrgRole
from techexchange.core.audit import entries_for
from techexchange.core.errors import Conflict
from techexchange.resources import services
from techexchange.resources.policies import Rules, waitlist_hold
from techexchange.resources.tests.factories import (
    NOW,
    at,
    make_customer,
    make_instrument,
    make_policy,
    make_staff,
)

pytestmark = pytest.mark.django_db


def book(instrument, user, start, end, now=NOW, **kwargs):
    return services.book_instrument(
        instrument=instrument, booked_by=user, starts_at=start, ends_at=end, now=now, **kwargs
    )


def wait(instrument, user, start, end, now=NOW):
    return services.join_waitlist(
        instrument=instrument, user=user, starts_at=start, ends_at=end, now=now
    )


@pytest.fixture
def people():
    return make_customer(username="alice"), make_customer(username="bob"), make_customer()


def test_a_cancellation_emails_the_first_waiting_user_only_and_is_audited(
    people, django_capture_on_commit_callbacks
):
    alice, bob, carol = people
    sem = make_instrument()
    booking = book(sem, alice, at(3, 10), at(3, 12))
    first = wait(sem, bob, at(3, 10), at(3, 11))
    second = wait(sem, carol, at(3, 10), at(3, 12), now=NOW + timedelta(minutes=1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(booking=booking, actor=alice, now=NOW)
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert sem.name_zh in mail.outbox[0].subject
    assert "2026-03-03 10:00" in mail.outbox[0].body
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.notified_at == NOW and second.notified_at is None
    (entry,) = [e for e in entries_for(first) if e.action == "waitlist.notify"]
    assert entry.data["freed_by"] == booking.pk and entry.data["mailed"] is True


def test_no_mail_leaves_when_the_freeing_transaction_rolls_back(
    people, django_capture_on_commit_callbacks
):
    alice, bob, _carol = people
    sem = make_instrument()
    booking = book(sem, alice, at(3, 10), at(3, 12))
    wait(sem, bob, at(3, 10), at(3, 11))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.cancel_booking(booking=booking, actor=alice, now=NOW)
    assert mail.outbox == [] and len(callbacks) == 1


def test_without_a_hold_policy_the_freed_slot_is_first_come_first_served(people):
    alice, bob, carol = people
    sem = make_instrument()
    booking = book(sem, alice, at(3, 10), at(3, 12))
    entry = wait(sem, bob, at(3, 10), at(3, 11))
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    entry.refresh_from_db()
    assert entry.hold_until is None
    assert book(sem, carol, at(3, 10), at(3, 11)).status == "confirmed"


def test_with_a_hold_policy_only_the_waiting_user_may_book_until_the_hold_ends(people):
    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=120))
    booking = book(sem, alice, at(3, 10), at(3, 12))
    entry = wait(sem, bob, at(3, 9), at(3, 11))
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    entry.refresh_from_db()
    assert (entry.held_from, entry.held_to) == (at(3, 10), at(3, 11))
    assert entry.hold_until == NOW + timedelta(minutes=120)
    with pytest.raises(Conflict) as info:
        book(sem, carol, at(3, 10, 30), at(3, 12))
    assert info.value.code == "held_for_waitlist"
    assert info.value.codes == ["held_for_waitlist"]
    # The rest of the freed slot was not wanted: it is free for anyone.
    assert book(sem, carol, at(3, 11), at(3, 12)).status == "confirmed"
    # After the hold, anyone may book the held part.
    later = NOW + timedelta(minutes=121)
    assert book(sem, carol, at(3, 10), at(3, 11), now=later).status == "confirmed"


def test_the_waiting_user_books_the_held_slot_and_the_hold_is_used_up(people):
    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    booking = book(sem, alice, at(3, 10), at(3, 12))
    entry = wait(sem, bob, at(3, 10), at(3, 12))
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    mine = book(sem, bob, at(3, 10), at(3, 11), now=NOW + timedelta(minutes=5))
    assert mine.status == "confirmed"
    entry.refresh_from_db()
    assert entry.hold_until == NOW + timedelta(minutes=5)
    assert book(sem, carol, at(3, 11), at(3, 12), now=NOW + timedelta(minutes=6)).pk


def test_staff_may_override_a_hold_with_a_reason(people):
    alice, bob, _carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    admin = make_staff(sem, OrgRole.ADMIN)
    booking = book(sem, alice, at(3, 10), at(3, 12))
    wait(sem, bob, at(3, 10), at(3, 12))
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    forced = book(sem, admin, at(3, 10), at(3, 11), override_reason="设备验收")
    assert "held_for_waitlist" in forced.overridden


def test_a_no_show_release_also_offers_the_slot(people, django_capture_on_commit_callbacks):
    alice, bob, _carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=30, no_show_grace_minutes=15))
    book(sem, alice, at(3, 10), at(3, 12))
    entry = wait(sem, bob, at(3, 10), at(3, 12))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.release_no_shows(now=at(3, 10, 20)) == 1
    entry.refresh_from_db()
    assert entry.notified_at == at(3, 10, 20)
    assert (entry.held_from, entry.hold_until) == (at(3, 10, 20), at(3, 10, 50))
    assert [m.to for m in mail.outbox] == [[bob.email]]


def test_the_hold_rule_is_pure_and_never_outlasts_the_held_part():
    rules = Rules(waitlist_hold_minutes=240)
    freed, wanted = (at(3, 10), at(3, 12)), (at(3, 11), at(3, 13))
    assert waitlist_hold(freed=freed, wanted=wanted, rules=rules, now=at(3, 9)) == (
        at(3, 11),
        at(3, 12),
        at(3, 12),
    )
    assert waitlist_hold(freed=freed, wanted=wanted, rules=Rules(), now=at(3, 9)) is None
    assert waitlist_hold(freed=freed, wanted=wanted, rules=rules, now=at(3, 12)) is None


# -- hand-on: a hold that lapses unused goes to the next waiting user -------------------------


def _held(sem, alice, *waiting, minutes=60):
    booking = book(sem, alice, at(3, 10), at(3, 12))
    entries = [
        wait(sem, user, at(3, 10), at(3, 12), now=NOW + timedelta(minutes=k))
        for k, user in enumerate(waiting)
    ]
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    for e in entries:
        e.refresh_from_db()
    return entries


def test_a_lapsed_hold_is_handed_on_to_the_next_waiting_user_once(
    people, django_capture_on_commit_callbacks
):
    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    first, second = _held(sem, alice, bob, carol)
    assert first.hold_until == NOW + timedelta(minutes=60) and second.notified_at is None
    later = NOW + timedelta(minutes=61)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.hand_on_lapsed_holds(now=later) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.hold_closed_at == later
    assert second.notified_at == later
    assert (second.held_from, second.held_to) == (at(3, 10), at(3, 12))
    assert second.hold_until == later + timedelta(minutes=60)
    assert [m.to for m in mail.outbox] == [[carol.email]]
    (lapse,) = [e for e in entries_for(first) if e.action == "waitlist.lapse"]
    (notify,) = [e for e in entries_for(second) if e.action == "waitlist.notify"]
    assert notify.data["lapsed"] == first.pk and lapse.actor is None
    # Now only carol may book it; bob's turn is over.
    with pytest.raises(Conflict):
        book(sem, bob, at(3, 10), at(3, 11), now=later)
    # The job is idempotent: a second run hands nothing on.
    assert services.hand_on_lapsed_holds(now=later) == 0
    assert services.hand_on_lapsed_holds(now=later + timedelta(minutes=1)) == 0


def test_a_hold_used_by_its_waiting_user_is_not_handed_on(people):
    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    first, second = _held(sem, alice, bob, carol)
    book(sem, bob, at(3, 10), at(3, 12), now=NOW + timedelta(minutes=5))
    first.refresh_from_db()
    assert first.hold_closed_at == NOW + timedelta(minutes=5)
    assert services.hand_on_lapsed_holds(now=NOW + timedelta(hours=2)) == 0
    second.refresh_from_db()
    assert second.notified_at is None


def test_only_the_part_still_free_is_handed_on(people):
    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    admin = make_staff(sem, OrgRole.ADMIN)
    _first, second = _held(sem, alice, bob, carol)
    book(sem, admin, at(3, 10), at(3, 11), override_reason="设备验收")
    services.hand_on_lapsed_holds(now=NOW + timedelta(minutes=61))
    second.refresh_from_db()
    assert (second.held_from, second.held_to) == (at(3, 11), at(3, 12))


def test_a_lapsed_hold_with_nobody_else_waiting_frees_the_slot_for_everyone(people):
    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    (first,) = _held(sem, alice, bob)
    later = NOW + timedelta(minutes=61)
    assert services.hand_on_lapsed_holds(now=later) == 1
    first.refresh_from_db()
    assert first.hold_closed_at == later
    assert book(sem, carol, at(3, 10), at(3, 12), now=later).status == "confirmed"


def test_the_release_job_hands_lapsed_holds_on(people):
    from techexchange.resources import tasks

    alice, bob, carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    _first, second = _held(sem, alice, bob, carol)
    later = NOW + timedelta(minutes=61)
    tasks.release_no_shows.call(now=later.isoformat())
    second.refresh_from_db()
    assert second.notified_at == later


def test_a_move_offers_what_it_left_behind_to_the_waiting_user(people):
    alice, bob, _carol = people
    sem = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    booking = book(sem, alice, at(3, 10), at(3, 12))
    entry = wait(sem, bob, at(3, 9), at(3, 13))
    services.move_booking(
        booking=booking, actor=alice, starts_at=at(3, 11), ends_at=at(3, 13), now=NOW
    )
    entry.refresh_from_db()
    # 11:00-12:00 is the successor's: only 10:00-11:00 was left behind.
    assert (entry.held_from, entry.held_to) == (at(3, 10), at(3, 11))
    (notify,) = [e for e in entries_for(entry) if e.action == "waitlist.notify"]
    assert notify.data["moved"] == booking.pk
