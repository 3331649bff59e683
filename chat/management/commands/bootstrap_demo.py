"""Creates the demo login and the demo assistants once; later runs change nothing."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from chat.models import Assistant, Connection

DEMO_ASSISTANT = {
    "name": "Demo assistant",
    "description": "The built-in offline model: deterministic, instant, no API key needed. "
    'Tools: send a line such as call calculator {"expression": "2 ** 10"}.',
    "instructions": "You are a helpful assistant for the organisation's staff.",
    # The built-in function tools, so a new user sees a tool step at work.
    "function_tools": ["calculator", "current_time"],
}

# The provider tools at work: attach a file and ask about it, or send a fenced Python block.
DEMO_ANALYST = {
    "name": "Demo analyst",
    "description": "The built-in offline model with file search and the code interpreter: "
    "attach a text, Markdown or PDF file and ask about it (the reply quotes it, with "
    "citations), or send a ```python block to run it.",
    "instructions": "You answer from the files you are given and run code to check numbers.",
    "file_search": True,
}


class Command(BaseCommand):
    help = "Creates the demo staff user (DEMO_USERNAME/DEMO_PASSWORD) and a demo assistant."

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=settings.DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
        if settings.LOCAL_PROVIDER_ENABLED and not Assistant.objects.exists():
            local, _ = Connection.objects.get_or_create(
                name="local", defaults={"kind": Connection.Kind.LOCAL}
            )
            # Their definitions are stored on the local provider at the first turn, once the
            # site (and with it the provider) is serving.
            for demo in (
                DEMO_ASSISTANT,
                {**DEMO_ANALYST, "code_interpreter": settings.LOCAL_PROVIDER_CODE_INTERPRETER},
            ):
                Assistant.objects.create(
                    connection=local,
                    protocol=Assistant.Protocol.ASSISTANTS,
                    model=settings.LOCAL_PROVIDER_MODEL,
                    **demo,
                )
        url = f"http://{settings.HOST}:{settings.PORT}/"
        self.stdout.write(
            self.style.SUCCESS(
                f"Open {url} and sign in as '{settings.DEMO_USERNAME}' with password "
                f"'{settings.DEMO_PASSWORD}'"
                + ("" if created else " (unchanged if you changed it)")
            )
        )
