"""Every staff page. Each app lists its own URL patterns (full paths, own namespace).

config/urls.py includes this module at the site root.
"""

from django.urls import include, path

from bounceback.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("bounceback.accounts.urls")),
    path("", include("bounceback.cases.urls")),
    path("", include("bounceback.failuremodes.urls")),
    path("", include("bounceback.learning.urls")),
    path("", include("bounceback.playbooks.urls")),
    path("", include("bounceback.breakdowns.urls")),
    path("", include("bounceback.discovery.urls")),
    path("", include("bounceback.notifications.urls")),
    path("", include("bounceback.timers.urls")),
    path("", include("bounceback.customers.urls")),
    path("", include("bounceback.interactions.urls")),
    path("", include("bounceback.transactions.urls")),
    path("", include("bounceback.audit.urls")),
    path("", include("bounceback.apitokens.urls")),
    path("", include("bounceback.mail.urls")),
    path("", include("bounceback.portal.urls")),
    path("", include("bounceback.webhooks.urls")),
    path("", include("bounceback.funds.urls")),
    path("", include("bounceback.segments.urls")),
    path("", include("bounceback.loyalty.urls")),
    path("", include("bounceback.stories.urls")),
    path("", include("bounceback.dashboards.urls")),
    path("", include("bounceback.drills.urls")),
    path("", include("bounceback.background.urls")),
    path("", include("bounceback.search.urls")),
    path("", include("bounceback.savedviews.urls")),
    path("", include("bounceback.replies.urls")),
]
