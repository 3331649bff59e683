"""`manage.py provider_set NAME --kind ... --base-url ...`: a connection kept in code."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat.models import Connection
from chat.services.connections import HeaderValue, connection_set


def _header(text: str) -> tuple[str, HeaderValue]:
    name, equals, variable = text.partition("=")
    if not (equals and name.strip() and variable.strip()):
        raise CommandError(f"--header {text!r}: write NAME=ENV_VAR.")
    return name.strip(), HeaderValue(env=variable.strip())


class Command(BaseCommand):
    help = (
        "Creates or updates a provider connection. Secrets stay in the environment: "
        "--api-key-env and --header name variables, never values."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", choices=Connection.Kind.values)
        parser.add_argument("--base-url", help="Empty: the kind's default from the environment.")
        parser.add_argument("--auth", choices=Connection.Auth.values)
        parser.add_argument("--api-key-env", help="The variable holding the API key.")
        parser.add_argument("--model", help="The default model (on Azure: a deployment).")
        parser.add_argument("--api-version", help="Azure OpenAI's api-version.")
        parser.add_argument("--timeout", type=float, help="Seconds; default PROVIDER_TIMEOUT.")
        parser.add_argument("--max-retries", type=int, help="Default PROVIDER_MAX_RETRIES.")
        parser.add_argument(
            "--header",
            action="append",
            metavar="NAME=ENV_VAR",
            help="An extra header read from a variable; repeat for more. Replaces the "
            "connection's headers when given.",
        )

    def handle(self, *args, name, header, **options):
        fields = {
            "kind": options["kind"],
            "base_url": options["base_url"],
            "auth": options["auth"],
            "api_key_env": options["api_key_env"],
            "default_model": options["model"],
            "api_version": options["api_version"],
            "timeout": options["timeout"],
            "max_retries": options["max_retries"],
        }
        if fields["auth"] is None and fields["kind"] in Connection.AZURE_KINDS:
            exists = Connection.objects.filter(name=name).exists()
            if not exists:
                # A new Azure connection without a key variable signs in with Entra ID.
                fields["auth"] = (
                    Connection.Auth.API_KEY if fields["api_key_env"] else Connection.Auth.ENTRA_ID
                )
        headers = dict(_header(text) for text in header) if header is not None else None
        try:
            connection, created = connection_set(name=name, headers=headers, **fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
            )
            raise CommandError(f"Connection {name!r} not saved: {problems}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Created' if created else 'Updated'} connection {connection.name} "
                f"({connection.get_kind_display()})."
            )
        )
