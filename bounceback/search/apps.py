from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "bounceback.search"
    label = "search"
    verbose_name = "Search"
