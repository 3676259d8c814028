from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "bounceback.mail"
    label = "mail"
    verbose_name = "Email in and out"

    def ready(self) -> None:
        from bounceback.mail.imap import imap_poll_due
        from bounceback.mail.sending import email_adapter
        from bounceback.outbox.channels import adapter_register
        from bounceback.timers.clock import clock_register

        adapter_register("email", email_adapter())
        clock_register("imap", imap_poll_due)
