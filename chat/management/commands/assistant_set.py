"""`manage.py assistant_set NAME --connection C --protocol P`: an assistant kept in code."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat.agents import ProviderError
from chat.models import Assistant
from chat.services.assistants import assistant_set
from chat.services.connections import connection_named
from chat.services.refusals import Refused


def thread_of(assistant: Assistant) -> str:
    if assistant.protocol != Assistant.Protocol.RESPONSES:
        return ""
    return f", thread {assistant.responses_thread}"


class Command(BaseCommand):
    help = (
        "Creates or updates the assistant NAME on a connection, storing its definition on the "
        "provider where the protocol keeps one (the provider refusing changes nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--connection", required=True)
        parser.add_argument("--protocol", required=True, choices=Assistant.Protocol.values)
        parser.add_argument("--model", help="Default: the connection's default model.")
        parser.add_argument("--instructions")
        parser.add_argument(
            "--thread",
            choices=Assistant.ResponsesThread.values,
            help="Where a `responses` thread lives (provider_check recommends one).",
        )
        parser.add_argument(
            "--context-budget",
            type=int,
            help="Tokens of transcript sent per turn where this site holds the thread.",
        )

    def handle(
        self,
        *args,
        name,
        connection,
        protocol,
        model,
        instructions,
        thread,
        context_budget,
        **options,
    ):
        try:
            assistant, created = assistant_set(
                name=name,
                connection=connection_named(connection),
                protocol=protocol,
                model=model,
                instructions=instructions,
                responses_thread=thread,
                context_budget=context_budget,
            )
        except (Refused, ProviderError) as exc:
            raise CommandError(f"Assistant {name!r} not saved: {exc}") from None
        except ValidationError as exc:
            raise CommandError(f"Assistant {name!r} not saved: {'; '.join(exc.messages)}") from None
        where = f", remote id {assistant.remote_id}" if assistant.remote_id else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Created' if created else 'Updated'} assistant {assistant.name} on "
                f"{assistant.connection.name} ({assistant.protocol}{thread_of(assistant)}{where})."
            )
        )
