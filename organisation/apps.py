from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    """Who may use which assistant, what the replies cost, and the users' token budgets."""

    name = "organisation"
    default_auto_field = "django.db.models.BigAutoField"
