from django.apps import AppConfig


class LocalAIConfig(AppConfig):
    name = "localai"
    verbose_name = "Local provider (offline)"
