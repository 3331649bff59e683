from django.core.management.base import BaseCommand

from chat.services.stale_replies import replies_close_stale


class Command(BaseCommand):
    help = "Marks replies left streaming by a stopped process as incomplete (run at start-up)."

    def handle(self, *args, **options):
        closed = replies_close_stale()
        self.stdout.write(f"Closed {closed} reply(ies) left streaming by a stopped process.")
