from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "bounceback.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty after recovery"
