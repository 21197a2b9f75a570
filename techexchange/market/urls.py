"""URLs of the technology market."""

from django.urls import path

from techexchange.market import views

app_name = "market"

urlpatterns = [
    path("", views.home, name="home"),
    path("offers/", views.listings, {"kind": "offer"}, name="offers"),
    path("requests/", views.listings, {"kind": "request"}, name="requests"),
    path("listings/new/", views.new_listing, name="new_listing"),
    path("listings/<int:pk>/", views.listing, name="listing"),
    path("listings/<int:pk>/submit/", views.submit_listing, name="submit"),
    path("listings/<int:pk>/review/", views.review_listing, name="review"),
    path("listings/<int:pk>/nda/", views.accept_nda, name="nda"),
    path("listings/<int:pk>/eoi/", views.send_eoi, name="eoi"),
    path("listings/<int:pk>/access/", views.access, name="access"),
    path("listings/<int:pk>/owner/", views.owner_action, name="owner_action"),
    path("listings/<int:pk>/attachments/new/", views.new_attachment, name="new_attachment"),
    path("listings/<int:pk>/attachments/<int:att_id>/", views.attachment, name="attachment"),
    path("eois/", views.eois, name="eois"),
    path("eois/<int:pk>/decide/", views.decide_eoi, name="decide_eoi"),
    path("eois/<int:eoi_id>/deal/", views.create_deal, name="create_deal"),
    path("deals/", views.deals, name="deals"),
    path("deals/<int:pk>/", views.deal, name="deal"),
    path("challenges/", views.challenges, name="challenges"),
    path("challenges/new/", views.new_challenge, name="new_challenge"),
    path("challenges/<int:pk>/", views.challenge, name="challenge"),
    path("challenges/<int:pk>/publish/", views.publish_challenge, name="publish_challenge"),
    path("challenges/<int:pk>/questions/", views.ask_question, name="ask_question"),
    path(
        "challenges/<int:pk>/questions/<int:qid>/answer/",
        views.answer_question,
        name="answer_question",
    ),
    path("challenges/<int:pk>/apply/", views.apply_to_challenge, name="apply_challenge"),
    path("challenges/<int:pk>/select/", views.select_teams, name="select_teams"),
    path(
        "challenges/<int:pk>/applications/<int:app_id>/review/",
        views.review_application,
        name="review_application",
    ),
    path(
        "challenges/<int:pk>/applications/<int:app_id>/assess/",
        views.assess_milestone,
        name="assess_milestone",
    ),
    path(
        "challenges/<int:pk>/applications/<int:app_id>/pay/<int:milestone_id>/",
        views.pay_milestone,
        name="pay_milestone",
    ),
    path(
        "challenges/<int:pk>/applications/<int:app_id>/accept/",
        views.accept_result,
        name="accept_result",
    ),
    path("notifications/", views.notifications, name="notifications"),
]
