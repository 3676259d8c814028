from django.urls import path

from bounceback.breakdowns import views

app_name = "breakdowns"

urlpatterns = [
    path("breakdowns/", views.breakdown_list, name="list"),
    path("breakdowns/declare/", views.breakdown_declare, name="declare"),
    path("breakdowns/<int:pk>/", views.breakdown_detail, name="detail"),
    path("breakdowns/<int:pk>/preview/", views.breakdown_preview, name="preview"),
    path("breakdowns/<int:pk>/scope/", views.breakdown_rescope, name="rescope"),
    path("breakdowns/<int:pk>/exclude/", views.breakdown_exclude, name="exclude"),
    path("breakdowns/<int:pk>/include/", views.breakdown_include, name="include"),
    path("breakdowns/<int:pk>/confirm/", views.breakdown_confirm, name="confirm"),
    path("breakdowns/<int:pk>/cancel/", views.breakdown_cancel, name="cancel"),
    path("breakdowns/<int:pk>/progress/", views.breakdown_progress, name="progress"),
    path("breakdowns/<int:pk>/render/", views.breakdown_render, name="render"),
    path("breakdowns/<int:pk>/pause/", views.breakdown_pause, name="pause"),
    path("breakdowns/<int:pk>/resume/", views.breakdown_resume, name="resume"),
    path("breakdowns/<int:pk>/update/", views.breakdown_post_update, name="update"),
    path("breakdowns/<int:pk>/all-clear/", views.breakdown_all_clear, name="all_clear"),
    path(
        "breakdowns/<int:pk>/actions/<int:action_pk>/done/",
        views.breakdown_action_done,
        name="action_done",
    ),
    path("breakdowns/<int:pk>/review/", views.breakdown_review, name="review"),
    path("breakdowns/<int:pk>/review/items/", views.review_item_add, name="item_add"),
    path(
        "breakdowns/<int:pk>/review/document-cases/",
        views.breakdown_document_cases,
        name="document_cases",
    ),
    path(
        "breakdowns/<int:pk>/review/follow-up-cases/",
        views.breakdown_follow_up_cases,
        name="follow_up_cases",
    ),
    path(
        "breakdowns/<int:pk>/review/close-cases/", views.breakdown_close_cases, name="close_cases"
    ),
    path(
        "breakdowns/<int:pk>/review/items/<int:item_pk>/done/",
        views.review_item_done,
        name="item_done",
    ),
    path(
        "breakdowns/<int:pk>/review/items/<int:item_pk>/failure-mode/",
        views.review_item_to_failure_mode,
        name="item_failure_mode",
    ),
]
