from django.urls import path

from bounceback.accounts import views

# Sign-in names stay un-namespaced: settings.LOGIN_URL and friends refer to them.
urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/time-zone/", views.time_zone, name="time_zone"),
    path("staff/", views.staff, name="staff_list"),
    path("staff/<int:pk>/role/", views.staff_set_role, name="staff_set_role"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:pk>/assignment/", views.team_assignment, name="team_assignment"),
]
