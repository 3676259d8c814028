from django.urls import path

from bounceback.cases import views

app_name = "cases"

urlpatterns = [
    path("cases/", views.case_inbox, name="inbox"),
    path("cases/new/", views.case_new, name="create"),
    path("cases/bulk/", views.case_bulk, name="bulk"),
    path("cases/bulk/<int:pk>/", views.case_bulk_run, name="bulk_run"),
    path("cases/policy/", views.policy_edit, name="policy"),
    path("cases/<int:pk>/", views.case_detail, name="detail"),
    path("cases/<int:pk>/coach/", views.case_coach, name="coach"),
    path("cases/<int:pk>/apologise/", views.case_apologise, name="apologise"),
    path("cases/<int:pk>/review/", views.case_review, name="review"),
    path("cases/<int:pk>/update/", views.case_send_update, name="update"),
    path("cases/<int:pk>/fix/", views.case_mark_fixed, name="fix"),
    path("cases/<int:pk>/follow-up/", views.case_follow_up, name="follow_up"),
    path("cases/<int:pk>/follow-up/answer/", views.case_record_follow_up, name="outcome"),
    path("cases/<int:pk>/document/", views.case_document, name="document"),
    path("cases/<int:pk>/close/", views.case_close, name="close"),
    path("cases/<int:pk>/reopen/", views.case_reopen, name="reopen"),
    path("cases/<int:pk>/wait/", views.case_wait, name="wait"),
    path("cases/<int:pk>/resume/", views.case_resume, name="resume"),
    path("cases/<int:pk>/customer-said/", views.case_customer_message, name="customer_message"),
    path("cases/<int:pk>/calls/", views.case_call, name="call"),
    path("cases/<int:pk>/assign/", views.case_assign, name="assign"),
    path("cases/<int:pk>/notes/", views.case_note, name="note"),
    path("cases/<int:pk>/failure-mode/", views.case_set_failure_mode, name="failure_mode"),
    path("cases/<int:pk>/breakdown/", views.case_link_breakdown, name="link_breakdown"),
    path("cases/<int:pk>/breakdown/unlink/", views.case_unlink_breakdown, name="unlink_breakdown"),
    path(
        "cases/<int:pk>/messages/<int:message_pk>/retry/",
        views.case_retry_message,
        name="retry",
    ),
]
