from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Single sign-on with OpenID Connect, and the switch for the password form."""

    name = "sso"
    verbose_name = "Single sign-on"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
