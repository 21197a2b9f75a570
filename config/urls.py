"""Root URLs: the web pages, the JSON API, admin and language switching."""

from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("market/", include("techexchange.market.urls")),
    path("contracts/", include("techexchange.contracts.urls")),
    path("resources/", include("techexchange.resources.urls")),
    path("", include("techexchange.web.urls")),
]

handler404 = "techexchange.web.views.not_found"
