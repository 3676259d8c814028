from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "bounceback.apitokens"
    label = "apitokens"
    verbose_name = "API tokens"
