"""Maps domain errors raised under a page to the right response (the web's one place)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
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


class RejectNulBytesMiddleware:
    """Refuse NUL characters in paths, parameters and JSON bodies with a 400.

    PostgreSQL text cannot hold NUL: without this, such input would reach the database and
    end in a 500 there, while SQLite would store it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "nul_character", "message": "请求中含有不允许的空字符", "details": []},
                    status=400,
                    json_dumps_params={"ensure_ascii": False},
                )
            return HttpResponseBadRequest("NUL characters are not allowed")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        for values in request.GET.lists():
            if any("\x00" in v for v in values[1]) or "\x00" in values[0]:
                return True
        content_type = request.content_type or ""
        if request.method in {"POST", "PUT", "PATCH"} and content_type.endswith("json"):
            body = request.body
            return b"\x00" in body or b"\\u0000" in body
        if request.method == "POST" and content_type == "application/x-www-form-urlencoded":
            return any("\x00" in v for _k, vs in request.POST.lists() for v in vs)
        return False
