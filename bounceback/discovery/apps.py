from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings


class DiscoveryConfig(AppConfig):
    name = "bounceback.discovery"
    label = "discovery"
    verbose_name = "Discovery"

    def ready(self) -> None:
        from bounceback.discovery import services
        from bounceback.discovery.negativity import scores
        from bounceback.signals.services import signals_recorded_register, signals_scorer_register
        from bounceback.timers.clock import clock_register

        # Every signal recorded from now on carries its text's negativity, and
        # the active rules see it inside the transaction that stored it.
        signals_scorer_register(scores)
        signals_recorded_register(services.rules_on_signals)
        clock_register(
            "discovery_scan",
            services.discovery_scan_tick,
            every=timedelta(minutes=settings.BOUNCEBACK_DISCOVERY_SCAN_MINUTES),
        )
