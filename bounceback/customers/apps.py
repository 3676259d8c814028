from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "bounceback.customers"
    label = "customers"
    verbose_name = "Customers"
