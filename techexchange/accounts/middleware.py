"""Bearer-token authentication for the JSON API, so web and API share `request.user`."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from techexchange.accounts.selectors import get_user_by_token


class ApiTokenMiddleware:
    """Sets `request.user` from `Authorization: Bearer <token>`; refuses a bad token with 401."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, raw = header.partition(" ")
            user = get_user_by_token(raw.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                body = {
                    "code": "unauthenticated",
                    "message": "API 令牌无效或已撤销",
                    "details": [],
                }
                return HttpResponse(
                    json.dumps(body, ensure_ascii=False),
                    status=401,
                    content_type="application/json; charset=utf-8",
                )
            request.user = user
            # A bearer token is not sent by browsers on their own: no CSRF risk.
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)
