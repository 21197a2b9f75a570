"""The one NinjaAPI: routers of every app, and the single mapping of errors to responses.

Every error answers `{code, message, details}` with a 4xx status; nothing malformed reaches a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from techexchange.accounts.api import router as accounts_router
from techexchange.contracts.api import router as contracts_router
from techexchange.core.errors import DomainError
from techexchange.market.api import router as market_router
from techexchange.regions.api import router as regions_router
from techexchange.resources.api import router as resources_router

api = NinjaAPI(
    title="techexchange API",
    version="1",
    description=(
        "长三角科技创新共同体服务平台接口。认证：请求头 `Authorization: Bearer <令牌>`"
        "（在个人中心创建，或 `manage.py create_api_token 用户名`）；"
        "错误统一为 `{code, message, details}`。"
    ),
    urls_namespace="api",
    docs_url="/docs",
)

api.add_router("/regions", regions_router)
api.add_router("/contracts", contracts_router)
api.add_router("/market", market_router)
api.add_router("/resources", resources_router)
api.add_router("/", accounts_router)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The API's one error shape."""
    return {"code": code, "message": message, "details": details if details is not None else []}


def _clean_validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep what a client needs from pydantic's errors: where, what, which rule."""
    cleaned = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", [])]
        cleaned.append(
            {
                "field": ".".join(p for p in loc if p not in {"body", "query", "path", "payload"})
                or (loc[-1] if loc else ""),
                "location": loc,
                "code": str(err.get("type", "invalid")),
                "message": str(err.get("msg", "")),
            }
        )
    return cleaned


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = _clean_validation_errors(list(exc.errors))
    fields = ", ".join(d["field"] for d in details if d["field"])
    message = f"请求参数有误：{fields}" if fields else "请求参数有误"
    return api.create_response(request, error_body("invalid", message, details), status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body("unauthenticated", "需要登录或有效的 API 令牌"), status=401
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
        exc.status_code, "error"
    )
    return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "对象不存在"), status=404)
