from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "bounceback.transactions"
    label = "transactions"
    verbose_name = "Transactions"
