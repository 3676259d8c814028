from django.apps import AppConfig


class SavedViewsConfig(AppConfig):
    name = "bounceback.savedviews"
    label = "savedviews"
    verbose_name = "Saved views"
