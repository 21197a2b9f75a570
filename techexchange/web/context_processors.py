"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from techexchange.web.nav import nav_items


def platform(request: HttpRequest) -> dict[str, Any]:
    """Navigation and the demo-data notice."""
    return {"nav_items": nav_items(), "demo_mode": settings.DEMO_MODE}
