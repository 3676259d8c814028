from django.urls import path

from bounceback.learning import views

app_name = "learning"

urlpatterns = [
    path("cases/<int:pk>/similar/", views.similar, name="similar"),
    path("cases/<int:pk>/duplicates/", views.duplicates, name="duplicates"),
    path("cases/<int:pk>/merge/", views.merge, name="merge"),
    path("cases/<int:pk>/split/", views.split, name="split"),
    path("learning/themes/", views.theme_list, name="themes"),
    path("learning/themes/<int:pk>/", views.theme_detail, name="theme"),
    path("learning/themes/<int:pk>/rename/", views.theme_rename, name="theme_rename"),
    path("learning/themes/<int:pk>/merge/", views.theme_merge, name="theme_merge"),
    path("learning/themes/<int:pk>/split/", views.theme_split, name="theme_split"),
    path("learning/themes/<int:pk>/propose/", views.theme_propose, name="theme_propose"),
    path("learning/themes/<int:pk>/problem/", views.problem_from_theme, name="problem_from_theme"),
    path("learning/problems/", views.problem_list, name="problems"),
    path("learning/problems/<int:pk>/", views.problem_detail, name="problem"),
    path("learning/problems/<int:pk>/edit/", views.problem_edit, name="problem_edit"),
    path("learning/problems/<int:pk>/done/", views.problem_done, name="problem_done"),
    path("learning/problems/<int:pk>/verify/", views.problem_verify, name="problem_verify"),
    path("learning/trends/", views.trends, name="trends"),
]
