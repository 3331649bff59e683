from django.core.management.base import BaseCommand, CommandError

from chat.services.remote_cleanup import remote_cleanup_retry
from chat.services.uploads import uploads_delete_unsent


class Command(BaseCommand):
    help = (
        "Retries provider deletions that failed (files, vector stores, containers, threads) "
        "and deletes attachments never sent (older than CHAT_UNSENT_UPLOAD_HOURS). Exits "
        "with status 1 while some deletion still fails; run it from cron."
    )

    def handle(self, *args, **options):
        unsent = uploads_delete_unsent()
        self.stdout.write(f"Deleted {unsent} unsent upload(s).")
        report = remote_cleanup_retry()
        for cleanup in report.deleted:
            self.stdout.write(f"Deleted {cleanup}.")
        for cleanup in report.failed:
            self.stderr.write(
                f"Still failing: {cleanup} (attempt {cleanup.attempts}): {cleanup.last_error}"
            )
        self.stdout.write(
            f"{len(report.deleted)} remote object(s) deleted, {len(report.failed)} still failing."
        )
        if report.failed:
            raise CommandError(f"{len(report.failed)} remote deletion(s) still fail.")
