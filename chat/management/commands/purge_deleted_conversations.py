from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand

from chat.services.conversation_purge import aconversations_purge


class Command(BaseCommand):
    help = (
        "Deletes for good the conversations whose undo window has closed, and their remote "
        "threads and files (run at start-up; every server process also does it as it runs)."
    )

    def handle(self, *args, **options):
        purged = 0
        while batch := async_to_sync(aconversations_purge)():
            purged += batch
        self.stdout.write(f"Purged {purged} deleted conversation(s).")
