"""Closing the sockets of a session that signs out, in every tab and process; removing the
stored bytes of deleted files."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import KnowledgeFile, OutputFile, Upload
from .services.events import session_group


@receiver(user_logged_out)
def close_sockets_of_ended_session(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        # Handled by ChatConsumer.session_ended, which closes the socket with code 4401.
        async_to_sync(get_channel_layer().group_send)(
            session_group(session.session_key), {"type": "session.ended"}
        )


@receiver(post_delete, sender=Upload)
@receiver(post_delete, sender=KnowledgeFile)
@receiver(post_delete, sender=OutputFile)
def remove_stored_file(sender, instance, **kwargs):
    """Removes the bytes of a deleted file record from storage (MEDIA_ROOT), however it was
    deleted: one by one, by a cascade from its conversation or assistant, or in bulk.

    Only after the transaction commits: a rolled-back delete must still find its file.
    Local storage only; provider copies are deleted by the services that delete records.
    """
    if instance.file.name:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))
