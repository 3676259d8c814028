from django.contrib import admin
from django.urls import include, path

from bounceback.config.api import api

urlpatterns = [
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("bounceback.web.urls")),
]
