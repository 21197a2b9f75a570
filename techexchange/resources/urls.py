"""URLs of resources (mounted at /resources/)."""

from django.urls import path

from techexchange.resources import views

app_name = "resources"

urlpatterns = [
    path("", views.search, name="search"),
    path("instruments/<int:pk>/", views.instrument, name="instrument"),
    path("instruments/<int:pk>/book/", views.book, name="book"),
    path("instruments/<int:pk>/calendar.ics", views.ics_instrument, name="ics_instrument"),
    path("bookings/", views.my_bookings, name="my_bookings"),
    path("bookings/<int:pk>/<slug:action>/", views.booking_action, name="booking_action"),
    path("approvals/", views.approvals, name="approvals"),
    path("ics/<str:token>.ics", views.ics_user, name="ics_user"),
    path("facilities/", views.facilities, name="facilities"),
    path("facilities/<int:pk>/", views.facility, name="facility"),
    path("bases/", views.research_bases, name="research_bases"),
    path("bases/<int:pk>/", views.research_base, name="research_base"),
    path("experts/", views.experts, name="experts"),
    path("dashboard/", views.provider_dashboard, name="provider_dashboard"),
    path("operations/", views.operator_dashboard, name="operator_dashboard"),
    path("export.xlsx", views.export_xlsx, name="export"),
    path("import/", views.import_page, name="import"),
]
