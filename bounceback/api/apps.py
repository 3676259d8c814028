from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "bounceback.api"
    label = "api"

    def ready(self) -> None:
        from bounceback.api.idempotency import idempotency_keys_prune
        from bounceback.timers.clock import housekeeping_register

        housekeeping_register("idempotency_keys", idempotency_keys_prune)
