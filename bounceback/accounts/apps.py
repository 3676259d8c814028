from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "bounceback.accounts"
    label = "accounts"
    verbose_name = "Staff and teams"

    def ready(self) -> None:
        from bounceback.accounts import receivers  # noqa: F401
        from bounceback.accounts.services import failed_logins_prune
        from bounceback.timers.clock import housekeeping_register

        housekeeping_register("failed_logins", failed_logins_prune)
