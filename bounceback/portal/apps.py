from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "bounceback.portal"
    label = "portal"
    verbose_name = "Public form, customer portal and survey"

    def ready(self) -> None:
        from bounceback.outbox.channels import adapter_register
        from bounceback.portal.channels import PortalNoticeAdapter

        adapter_register("web", PortalNoticeAdapter())

        from bounceback.portal.services import web_submissions_prune
        from bounceback.timers.clock import housekeeping_register

        housekeeping_register("web_submissions", web_submissions_prune)
