"""Closing the sockets of a session that signs out, in every tab and process."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from .services.events import session_group


@receiver(user_logged_out)
def close_sockets_of_ended_session(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        # Handled by ChatConsumer.session_ended, which closes the socket with code 4401.
        async_to_sync(get_channel_layer().group_send)(
            session_group(session.session_key), {"type": "session.ended"}
        )
