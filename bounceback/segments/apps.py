from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "bounceback.segments"
    label = "segments"
    verbose_name = "Customer segments and their approaches"
