"""`manage.py provider_check NAME`: which APIs answer on a connection, and the protocol
that fits; exits 1 when none does."""

from django.core.management.base import BaseCommand, CommandError

from chat.agents import ProviderError
from chat.services.connections import connection_check, connection_named
from chat.services.refusals import Refused


class Command(BaseCommand):
    help = (
        "Probes a connection: models, chat completions, responses, stored responses, "
        "conversations, assistants, files and vector stores, one line each, then the "
        "recommended protocol. Exits 1 when no API answers."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--model", default="", help="The model to try; default: the connection's."
        )

    def handle(self, *args, name, model, **options):
        try:
            probe = connection_check(connection=connection_named(name), model=model)
        except (Refused, ProviderError) as exc:
            raise CommandError(str(exc)) from None
        for line in probe.probes:
            style = self.style.SUCCESS if line.ok else self.style.WARNING
            self.stdout.write(style(str(line)))
        if not probe.any_ok:
            raise CommandError(f"No API answers on the connection {name!r}.")
        self.stdout.write(f"recommended protocol: {probe.recommended_protocol}")
