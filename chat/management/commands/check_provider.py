from django.core.management.base import BaseCommand, CommandError

from chat.models import Assistant
from chat.services.providers import provider_check


class Command(BaseCommand):
    help = (
        "Checks the connection to a provider with one cheap call and says what is wrong "
        "(bad key, unknown deployment, API retired, unreachable). Exits 1 on failure."
    )

    def add_arguments(self, parser):
        parser.add_argument("provider", choices=Assistant.Provider.values)
        parser.add_argument(
            "--protocol", choices=Assistant.Protocol.values, default=Assistant.Protocol.RESPONSES
        )
        parser.add_argument(
            "--model",
            default="",
            help="Model or Azure deployment to try (responses); default: the provider's default.",
        )
        parser.add_argument(
            "--assistant-id", default="", help="A remote assistant id to look up (assistants)."
        )

    def handle(self, *args, provider, protocol, model, assistant_id, **options):
        result = provider_check(
            provider=provider, protocol=protocol, model=model, remote_id=assistant_id
        )
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(self.style.SUCCESS(result.message))
