"""Progress saves of streaming replies: batched, and never after the final save."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from chat.models import Assistant, Conversation, Message
from chat.services import reply_progress
from chat.services.reply_progress import ReplyProgress
from tests.chat.wsclient import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def streaming_replies(count: int) -> list[Message]:
    user = make_user("progress")
    assistant = Assistant.objects.create(name="A", model="m")
    return [
        Message.objects.create(
            conversation=Conversation.objects.create(owner=user, assistant=assistant),
            role=Message.Role.ASSISTANT,
            status=Message.Status.STREAMING,
        )
        for _ in range(count)
    ]


async def contents(replies) -> list[str]:
    return [(await Message.objects.aget(pk=r.pk)).content for r in replies]


@override_settings(CHAT_REPLY_SAVE_INTERVAL=0.05)
async def test_every_streaming_reply_is_saved_each_interval_with_its_latest_text():
    replies = await streaming_replies(3)
    progress = ReplyProgress()
    for number, reply in enumerate(replies):
        progress.note(reply.pk, "Hel")
        progress.note(reply.pk, f"Hello {number}")
    assert await contents(replies) == ["", "", ""]  # nothing waits for the database
    await asyncio.sleep(0.3)
    assert await contents(replies) == ["Hello 0", "Hello 1", "Hello 2"]
    assert progress.loop_task.done()  # idle once nothing is pending
    # A save shows the reply alive: its task skips the heartbeat's own write meanwhile.
    assert progress.saved_within(replies[0].pk, 10.0)
    assert not progress.saved_within(replies[0].pk, 0.0)
    await progress.forget(replies[0].pk)
    assert not progress.saved_within(replies[0].pk, 10.0)


@override_settings(CHAT_REPLY_SAVE_INTERVAL=0.01)
async def test_forget_waits_for_a_write_under_way_so_the_final_save_wins(monkeypatch):
    [reply] = await streaming_replies(1)
    started, release = asyncio.Event(), asyncio.Event()
    write = reply_progress._write

    async def slow_write(contents):
        started.set()
        await release.wait()
        await write(contents)

    monkeypatch.setattr(reply_progress, "_write", slow_write)
    progress = ReplyProgress()
    progress.note(reply.pk, "partial")
    async with asyncio.timeout(5):
        await started.wait()
    forgetting = asyncio.create_task(progress.forget(reply.pk))
    await asyncio.sleep(0.05)
    assert not forgetting.done()  # the older text is still on its way to the database
    release.set()
    await forgetting
    await Message.objects.filter(pk=reply.pk).aupdate(content="final", status="complete")
    await asyncio.sleep(0.05)
    assert await contents([reply]) == ["final"]
