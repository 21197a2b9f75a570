"""Maps domain errors raised under a page to the right response (the web's one place)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from techexchange.core.errors import DomainError, NotFound, PermissionDenied


class DomainErrorMiddleware:
    """NotFound → 404, PermissionDenied → login or 403, any other refusal → 400 with its message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        """Render domain errors; let everything else propagate."""
        if not isinstance(exc, DomainError) or request.path.startswith("/api/"):
            return None
        if isinstance(exc, PermissionDenied) and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        status = 404 if isinstance(exc, NotFound) else exc.status
        return render(request, "web/error.html", {"error": exc}, status=status)
