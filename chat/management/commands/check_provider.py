from django.core.management.base import BaseCommand, CommandError

from chat.models import Assistant
from chat.services.connections import connection_named
from chat.services.providers import provider_check
from chat.services.refusals import Refused


class Command(BaseCommand):
    help = (
        "Checks a connection with one cheap call for one protocol and says what is wrong "
        "(bad key, unknown deployment, API retired, unreachable). Exits 1 on failure. "
        "`provider_check` probes every API instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection", help="A connection's name (e.g. local, openai, azure).")
        parser.add_argument(
            "--protocol", choices=Assistant.Protocol.values, default=Assistant.Protocol.RESPONSES
        )
        parser.add_argument(
            "--model",
            default="",
            help="Model or Azure deployment to try (responses); default: the connection's.",
        )
        parser.add_argument(
            "--assistant-id", default="", help="A remote assistant id to look up (assistants)."
        )

    def handle(self, *args, connection, protocol, model, assistant_id, **options):
        try:
            found = connection_named(connection)
        except Refused as refusal:
            raise CommandError(str(refusal)) from None
        result = provider_check(
            connection=found, protocol=protocol, model=model, remote_id=assistant_id
        )
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(self.style.SUCCESS(result.message))
