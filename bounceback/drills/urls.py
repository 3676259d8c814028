from django.urls import path

from bounceback.drills import views

app_name = "drills"

urlpatterns = [
    path("drills/", views.library, name="library"),
    path("drills/new/", views.new, name="new"),
    path("drills/generate/", views.generate, name="generate"),
    path("drills/coverage/", views.coverage, name="coverage"),
    path("drills/schedules/", views.schedule, name="schedule"),
    path("drills/schedules/high-risk/", views.schedule_high_risk, name="schedule_high_risk"),
    path("drills/scenarios/<int:pk>/", views.scenario_edit, name="scenario"),
    path("drills/<int:pk>/", views.detail, name="detail"),
    path("drills/<int:pk>/start/", views.start, name="start"),
    path("drills/<int:pk>/step/", views.step, name="step"),
    path("drills/<int:pk>/end/", views.end, name="end"),
    path("drills/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("drills/<int:pk>/log/", views.log, name="log"),
    path("drills/<int:pk>/actions/<int:action_id>/done/", views.action_done, name="action_done"),
    path("drills/<int:pk>/debrief/", views.debrief, name="debrief"),
    path("drills/<int:pk>/scores/<int:score_id>/", views.adjust, name="adjust"),
    path("drills/<int:pk>/improvements/", views.improvement, name="improvement"),
    path(
        "drills/<int:pk>/improvements/<int:item_id>/apply/",
        views.improvement_apply,
        name="improvement_apply",
    ),
]
