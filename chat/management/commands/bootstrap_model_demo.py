"""`manage.py bootstrap_model_demo --base-url URL`: the connection `smollm2` and the assistant
"Demo SmolLM2" on a real model server (`make run-model` starts llama.cpp's and calls this).
Creates them, or brings them up to date (a new port, a new model id); chats stay."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat.agents import ProviderError
from chat.models import Assistant
from chat.services.assistants import assistant_set
from chat.services.connections import connection_models, connection_set
from chat.services.refusals import Refused

CONNECTION = "smollm2"
ASSISTANT = "Demo SmolLM2"
DESCRIPTION = (
    "A real LLM, offline: SmolLM2-135M-Instruct on llama.cpp (make run-model). Tiny and weak "
    "(short answers, often wrong), but every token is generated. No tools."
)
INSTRUCTIONS = "You are a helpful assistant. Answer briefly."


class Command(BaseCommand):
    help = (
        f"Creates or updates the connection {CONNECTION!r} (an OpenAI-compatible server "
        f"without authentication) and the assistant {ASSISTANT!r} on it (chat_completions)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="The server's API root (…/v1).")
        parser.add_argument("--model", help="Default: the first model the server lists.")
        parser.add_argument(
            "--context-budget",
            type=int,
            default=2048,
            help="Tokens of history sent each turn; leave room for the reply in the server's "
            "context window.",
        )

    def handle(self, *args, base_url, model, context_budget, **options):
        try:
            # No key anywhere: the server takes requests unauthenticated.
            connection, _ = connection_set(
                name=CONNECTION, kind="openai", base_url=base_url, api_key_env=""
            )
            if not model:
                models = connection_models(connection=connection)
                if not models:
                    raise CommandError(f"{base_url}/models answered no model; give --model.")
                model = models[0]
            connection, _ = connection_set(name=CONNECTION, default_model=model)
            assistant, created = assistant_set(
                name=ASSISTANT,
                connection=connection,
                protocol=Assistant.Protocol.CHAT_COMPLETIONS,
                model="",
                instructions=INSTRUCTIONS,
            )
        except ValidationError as exc:
            raise CommandError(f"Not saved: {'; '.join(exc.messages)}") from None
        except (Refused, ProviderError) as exc:
            raise CommandError(f"Not saved: {exc}") from None
        Assistant.objects.filter(pk=assistant.pk).update(
            description=DESCRIPTION, context_budget=context_budget
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Created' if created else 'Updated'} assistant {ASSISTANT!r} on the "
                f"connection {CONNECTION!r} ({base_url}, model {model})."
            )
        )
