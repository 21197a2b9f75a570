"""Write audit entries; every write of money, bookings or registrations calls this."""

from __future__ import annotations

from typing import Any

from django.db import models

from techexchange.core import clock
from techexchange.core.models import AuditEntry

__all__ = ["audit", "entries_for"]


def audit(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that `actor` did `action` to `obj` (call inside the write's transaction)."""
    return AuditEntry.objects.create(
        at=clock.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        reason=reason,
        data=data or {},
    )


def entries_for(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """Return the audit trail of one object, newest first."""
    return AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
