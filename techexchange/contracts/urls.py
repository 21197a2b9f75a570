"""URLs of the contracts pages."""

from django.urls import path

from techexchange.contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.stats, name="stats"),
    path("export.<str:fmt>", views.export, name="export"),
    path("review/", views.review, name="review"),
    path("review/<int:pk>/", views.decide, name="decide"),
    path("import/", views.upload, name="import"),
    path("mine/", views.mine, name="mine"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/amend/", views.amend, name="amend"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
]
