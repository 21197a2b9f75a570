"""Holds that ended before hand-on existed are closed, so the release job does not offer them again.

Before 0005 a used hold was marked by `hold_until = now` and a lapsed one by nothing at all:
the two cannot be told apart, and offering a used slot to the next waiting user would be wrong.
"""

from typing import Any

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Now


def close_past_holds(apps: Any, schema_editor: Any) -> None:
    WaitlistEntry = apps.get_model("resources", "WaitlistEntry")
    WaitlistEntry.objects.filter(
        hold_until__isnull=False, hold_until__lte=Now(), hold_closed_at__isnull=True
    ).update(hold_closed_at=F("hold_until"))


class Migration(migrations.Migration):
    dependencies = [("resources", "0005_free_time_summary")]

    operations = [migrations.RunPython(close_past_holds, migrations.RunPython.noop)]
