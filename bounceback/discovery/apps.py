from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings


class DiscoveryConfig(AppConfig):
    name = "bounceback.discovery"
    label = "discovery"
    verbose_name = "Discovery"

    def ready(self) -> None:
        from bounceback.background.registry import JobKind, job_kind_register
        from bounceback.cases.hooks import case_opened_register
        from bounceback.discovery import jobs, services
        from bounceback.discovery.negativity import scores
        from bounceback.interactions.services import interaction_inbound_register
        from bounceback.signals.services import signals_recorded_register, signals_scorer_register
        from bounceback.timers.clock import clock_register

        # Every signal recorded from now on carries its text's negativity, and
        # the active rules see it inside the transaction that stored it.
        signals_scorer_register(scores)
        signals_recorded_register(services.rules_on_signals)
        # New cases and customers' messages are marked in their transaction and
        # run through the rules by a job, so a rule never slows the desk down.
        case_opened_register(services.rules_on_case_opened)
        interaction_inbound_register(services.rules_on_inbound_message)
        job_kind_register(JobKind(name=services.RULES_JOB, run=jobs.discovery_rules_job))
        clock_register(
            "discovery_scan",
            services.discovery_scan_tick,
            every=timedelta(minutes=settings.BOUNCEBACK_DISCOVERY_SCAN_MINUTES),
        )
