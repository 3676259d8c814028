from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "bounceback.accounts"
    label = "accounts"
    verbose_name = "Staff and teams"

    def ready(self) -> None:
        from bounceback.accounts import receivers  # noqa: F401
