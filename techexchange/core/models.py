"""Base models: the append-only audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One audited action: who did what to which object, when and why (never edited)."""

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("操作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80)
    object_id = models.CharField(_("对象编号"), max_length=64)
    reason = models.TextField(_("理由"), blank=True)
    data: models.JSONField[Any] = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class PeriodicRun(models.Model):
    """When a periodic job was last enqueued (one row per job; the scheduler locks it)."""

    name = models.CharField(_("任务"), max_length=80, primary_key=True)
    last_enqueued_at = models.DateTimeField(_("上次排入队列"), null=True, blank=True)

    class Meta:
        verbose_name = _("周期任务")
        verbose_name_plural = _("周期任务")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_enqueued_at}"
