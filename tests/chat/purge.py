"""Deleting for good in a test: the undo window closed at once, then the purge that every
process runs (chat.services.conversation_purge)."""

from asgiref.sync import async_to_sync
from django.test import override_settings

from chat.services.conversation_purge import aconversations_purge


def purge_now() -> int:
    with override_settings(CHAT_UNDO_SECONDS=0):
        return async_to_sync(aconversations_purge)()


async def apurge_now() -> int:
    with override_settings(CHAT_UNDO_SECONDS=0):
        return await aconversations_purge()
