from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "bounceback.portal"
    label = "portal"
    verbose_name = "Public form, customer portal and survey"

    def ready(self) -> None:
        from bounceback.outbox.channels import adapter_register
        from bounceback.portal.channels import PortalNoticeAdapter

        adapter_register("web", PortalNoticeAdapter())
