"""The batch recompute's writes: recommendations and their alerts as plain rows, a chunk at a time.

`services._store_and_alert` calls `store_batch` then `send_alerts` in one transaction for each
chunk of listings. Rows are tuples written through the cursor (no model instances: building and
compiling them was most of the cost), `components` is serialised once per row, and a row whose
stored rank, score, components and reasons are already those computed is not written at all
(its `computed_at` stays the time it was last written; nothing reads it). A row recommended
again keeps its id and `alerted_at`; rows no longer recommended are deleted; a new row at or
above the alert threshold is written with `alerted_at` set and its listing's owners notified
once, with the notifications `services.notify` would create.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from math import isfinite
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.db.models.signals import post_delete, pre_delete

from techexchange.accounts.models import Membership, User
from techexchange.market.codes import NotificationEvent
from techexchange.market.models import (
    Listing,
    MatchRecommendation,
    Notification,
    NotificationPreference,
)
from techexchange.search import Component, Match

_REC_COLUMNS = (
    "need_id",
    "candidate_id",
    "rank",
    "score",
    "components",
    "reason_zh",
    "reason_en",
    "computed_at",
    "alerted_at",
)
_NOTE_COLUMNS = (
    "user_id",
    "event",
    "title",
    "body",
    "url",
    "created_at",
    "in_app",
    "digest_pending",
    "emailed_at",
)

Alerts = list[tuple[Listing, list[str]]]
"""Listings to alert, each with the reasons of its new high-score rows, best first."""


def components(match: Match) -> list[dict[str, Any]]:
    """A match's components as stored in `MatchRecommendation.components`."""
    return components_of(match.components)


def components_of(parts: Iterable[Component]) -> list[dict[str, Any]]:
    """Components as stored in `MatchRecommendation.components`."""
    return [
        {
            "name": c.name,
            "value": round(c.value, 3),
            "weight": round(c.weight, 4),
            "note_zh": c.note_zh,
            "note_en": c.note_en,
        }
        for c in parts
    ]


def dumps(value: Any) -> str:
    """JSON text for a JSON column; reading it back gives `value` (as the JSONField would)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _component_texts(c: Component) -> tuple[str, str]:
    value, weight = round(c.value, 3), round(c.weight, 4)
    if type(value) is not float or type(weight) is not float or not isfinite(value + weight):
        text = dumps(components_of((c,))[0])  # the general path for anything unusual
        return text, text
    name, zh, en = _string(c.name), _string(c.note_zh), _string(c.note_en)
    v, w = _float(value), _float(weight)
    text = f'{{"name":{name},"value":{v},"weight":{w},"note_zh":{zh},"note_en":{en}}}'
    # jsonb's own text form: keys by length then bytes, ", " and ": " between items
    return (
        text,
        f'{{"name": {name}, "value": {v}, "weight": {w}, "note_en": {en}, "note_zh": {zh}}}',
    )


_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses
_float = float.__repr__  # what json.dumps uses for a finite float
_TEXTS: dict[Component, tuple[str, str]] = {}


def components_texts(match: Match, *, jsonb: bool = False) -> tuple[str, str]:
    """`dumps(components(match))`, and the text the database gives back for it.

    The second is the same, or with `jsonb` (PostgreSQL) jsonb's normal form, so that an
    unchanged row is recognised without parsing its JSON (a mismatch is then parsed, never
    taken as a change). Each component's texts are memoised: most components recur across
    matches (the same field, mode or region value with the same note and weight); only the
    text and freshness values vary.
    """
    parts = []
    for c in match.components:
        texts = _TEXTS.get(c)
        if texts is None:
            if len(_TEXTS) >= 20_000:  # a few MB; the recurring ones come back at once
                _TEXTS.clear()
            texts = _TEXTS[c] = _component_texts(c)
        parts.append(texts)
    text = f"[{','.join(t for t, _ in parts)}]"
    if not jsonb:
        return text, text
    return text, f"[{', '.join(t for _, t in parts)}]"


def alert_text(listing: Listing, reasons: Sequence[str]) -> tuple[str, str, str]:
    """Title, body and url of a match alert for `listing` with these new recommendations."""
    return (
        f"“{listing.title_zh}”有{len(reasons)}条高匹配推荐",
        "\n".join(reasons[:3]),
        f"/market/listings/{listing.pk}/",
    )


# The SQL below is composed from model metadata (tables, columns, types); values are always
# parameters.


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@contextmanager
def _cursor() -> Iterator[Any]:
    """A cursor in the current transaction; on PostgreSQL one binding parameters on the server.

    Django's psycopg cursors bind on the client, quoting every element of an array into the
    SQL text, which cost more than the rest of storing together. That cursor's statements
    are not in Django's query log; its errors are Django's, as usual.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _in(ids: Iterable[int]) -> tuple[str, list[Any]]:
    """`IN (…)` for a set of integer ids: one array parameter on PostgreSQL."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return "= ANY(%b)", [ids]
    return f"IN ({','.join(['%s'] * len(ids))})", ids


def _insert_sql(model: type[models.Model], columns: Sequence[str]) -> str:
    """An INSERT of many rows: `executemany` on SQLite, one `unnest` of arrays on PostgreSQL."""
    table = _q(model._meta.db_table)
    cols = ", ".join(_q(c) for c in columns)
    if connection.vendor == "postgresql":
        types = [model._meta.get_field(c).db_type(connection) for c in columns]
        arrays = ", ".join(f"%b::{t}[]" for t in types)  # binary: no quoting
        return f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays})"  # noqa: S608
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608


def _insert(cursor: Any, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(sql, [list(col) for col in zip(*rows, strict=True)])
    else:
        cursor.executemany(sql, rows)


def _upsert_sql() -> str:
    rec = _q(MatchRecommendation._meta.db_table)
    updated = ", ".join(
        f"{_q(c)} = excluded.{_q(c)}"
        for c in ("rank", "score", "components", "reason_zh", "reason_en", "computed_at")
    )
    alerted = _q("alerted_at")
    return (
        f"{_insert_sql(MatchRecommendation, _REC_COLUMNS)}"
        f" ON CONFLICT ({_q('need_id')}, {_q('candidate_id')}) DO UPDATE SET {updated},"
        f" {alerted} = COALESCE({rec}.{alerted}, excluded.{alerted})"
    )


def _delete_recommendations(cursor: Any, ids: list[int]) -> None:
    """Delete rows by id, doing what the ORM's delete would for the models pointing at them."""
    raw = not (
        pre_delete.has_listeners(MatchRecommendation)
        or post_delete.has_listeners(MatchRecommendation)
    )
    opts: Any = MatchRecommendation._meta
    relations: list[Any] = list(get_candidate_relations_to_delete(opts))  # as the ORM's
    if not raw or any(
        r.on_delete not in (models.SET_NULL, models.DO_NOTHING) or r.many_to_many for r in relations
    ):
        MatchRecommendation.objects.filter(pk__in=ids).delete()
        return
    where, params = _in(ids)
    for r in relations:
        if r.on_delete is models.SET_NULL:  # e.g. an EoI keeps its components, loses the link
            column = _q(str(r.field.column))
            table = _q(r.related_model._meta.db_table)
            sql = f"UPDATE {table} SET {column} = NULL WHERE {column} {where}"  # noqa: S608
            cursor.execute(sql, params)
    table = _q(MatchRecommendation._meta.db_table)
    cursor.execute(f"DELETE FROM {table} WHERE {_q('id')} {where}", params)  # noqa: S608


def store_batch(
    batch: Sequence[tuple[Listing, Sequence[Match]]],
    *,
    now: datetime,
    limit: int | None = None,
    alert_threshold: float | None = None,
) -> Alerts:
    """Replace the stored recommendations of several listings; return the alerts to send.

    Candidates that no longer exist or that the need's own organisation published are left
    out, then at most `limit` per listing are kept. Unchanged rows are not written; changed
    and new ones go in one upsert on (need, candidate), which keeps a row's id and
    `alerted_at`; rows no longer recommended are deleted. With `alert_threshold`, rows at or
    above it that were never alerted are written with `alerted_at = now` and returned per
    listing (best first) for `send_alerts`. Call inside a transaction.
    """
    if not batch:
        return []
    ids = {int(m.candidate.id) for _, found in batch for m in found}
    needs = [listing.pk for listing, _ in batch]
    rec = _q(MatchRecommendation._meta.db_table)
    jsonb = connection.vendor == "postgresql"
    with _cursor() as cursor:
        owner_of: dict[int, int | None] = {}
        if ids:
            where, params = _in(ids)
            cursor.execute(
                f"SELECT {_q('id')}, {_q('owner_id')} FROM {_q(Listing._meta.db_table)}"  # noqa: S608
                f" WHERE {_q('id')} {where}",
                params,
            )
            owner_of = dict(cursor.fetchall())
        where, params = _in(needs)
        cursor.execute(
            f"SELECT {_q('id')}, {_q('need_id')}, {_q('candidate_id')}, {_q('rank')},"  # noqa: S608
            f" {_q('score')}, {_q('components')}, {_q('reason_zh')}, {_q('reason_en')},"
            f" {_q('alerted_at')} IS NULL FROM {rec} WHERE {_q('need_id')} {where}",
            params,
        )
        stored = {(row[1], row[2]): row for row in cursor.fetchall()}

        at = connection.ops.adapt_datetimefield_value(now)
        rows: list[tuple[Any, ...]] = []
        alerts: Alerts = []
        keep: set[tuple[int, int]] = set()
        for listing, found in batch:
            need = listing.pk
            owner = listing.owner_id
            reasons: list[str] = []
            rank = 0
            for m in found:
                if limit is not None and rank >= limit:
                    break
                cid = int(m.candidate.id)
                key = (need, cid)
                if owner_of.get(cid, owner) == owner or key in keep:
                    continue  # gone, the need's own, or listed twice
                rank += 1
                keep.add(key)
                text, stored_form = components_texts(m, jsonb=jsonb)
                reason_zh = m.reason_zh[:300]
                reason_en = m.reason_en[:400]
                old = stored.get(key)
                alert = (
                    alert_threshold is not None
                    and m.score >= alert_threshold
                    and (old is None or bool(old[8]))
                )
                if alert:
                    reasons.append(reason_zh)
                elif (
                    old is not None
                    and old[3] == rank
                    and old[4] == m.score
                    and old[6] == reason_zh
                    and old[7] == reason_en
                    and (old[5] == stored_form or json.loads(old[5]) == json.loads(text))
                ):
                    continue  # stored as computed: no write
                rows.append(
                    (
                        need,
                        cid,
                        rank,
                        m.score,
                        text,
                        reason_zh,
                        reason_en,
                        at,
                        at if alert else None,
                    )
                )
            if reasons:
                alerts.append((listing, reasons))
        stale = [row[0] for key, row in stored.items() if key not in keep]
        if stale:
            _delete_recommendations(cursor, stale)
        if rows:
            _insert(cursor, _upsert_sql(), rows)
    return alerts


def send_alerts(alerts: Alerts, *, now: datetime) -> None:
    """Notify the active members of each listing's owner, as `services.notify` would.

    One query for the members, one for their preferences and one insert of the
    notifications for the whole chunk; e-mails at once go out one by one as before.
    """
    owners = {listing.owner_id for listing, _ in alerts if listing.owner_id is not None}
    if not owners:
        return
    event = NotificationEvent.MATCH_ALERT.value
    members: dict[int, list[tuple[int, str]]] = {}
    with _cursor() as cursor:
        where, params = _in(owners)
        user, membership = _q(User._meta.db_table), _q(Membership._meta.db_table)
        cursor.execute(
            f"SELECT u.{_q('id')}, u.{_q('email')}, m.{_q('organisation_id')}"  # noqa: S608
            f" FROM {user} u JOIN {membership} m ON m.{_q('user_id')} = u.{_q('id')}"
            f" WHERE m.{_q('organisation_id')} {where} AND u.{_q('is_active')}"
            f" ORDER BY m.{_q('organisation_id')}, u.{_q('id')}",
            params,
        )
        for uid, email, org in cursor.fetchall():
            members.setdefault(org, []).append((uid, email))
        users = {uid for people in members.values() for uid, _ in people}
        prefs: dict[int, tuple[bool, str]] = {}
        if users:
            where, params = _in(users)
            cursor.execute(
                f"SELECT {_q('user_id')}, {_q('in_app')}, {_q('email')}"  # noqa: S608
                f" FROM {_q(NotificationPreference._meta.db_table)}"
                f" WHERE {_q('event')} = %s AND {_q('user_id')} {where}",
                [event, *params],
            )
            prefs = {uid: (bool(in_app), mode) for uid, in_app, mode in cursor.fetchall()}
        at = connection.ops.adapt_datetimefield_value(now)
        rows: list[tuple[Any, ...]] = []
        for listing, reasons in alerts:
            title, body, url = alert_text(listing, reasons)
            for uid, email in members.get(listing.owner_id or 0, []):
                in_app, mode = prefs.get(uid, (True, "digest"))
                if not in_app and mode == "off":
                    continue
                emailed = None
                if mode == "instant" and email:
                    send_mail(
                        subject=title[:200],
                        message=f"{body}\n\n{settings.SITE_URL}{url}",
                        from_email=None,
                        recipient_list=[email],
                    )
                    emailed = at
                digest = mode == "digest" and bool(email)
                rows.append(
                    (uid, event, title[:200], body[:2000], url[:200], at, in_app, digest, emailed)
                )
        if rows:
            _insert(cursor, _insert_sql(Notification, _NOTE_COLUMNS), rows)
