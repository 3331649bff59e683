"""A token budget holds across processes: one user spending from two Daphne processes at once
(PostgreSQL + Redis) overspends by at most one reply, and both processes refuse once it is
spent."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import Max, Sum

from chat.models import Assistant
from organisation.models import Quota, UsageRecord
from organisation.services.settings import quota_set
from tests.scale.support import live_socket, requires_scale, signed_in

pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]

BUDGET = 2000


async def spend_until_refused(socket, assistant) -> tuple[int, dict]:
    """New conversations, one after the other, until the budget refuses one; returns how
    many replies completed and the refusal."""
    completed = 0
    while True:
        await socket.send(
            {
                "type": "message.send",
                "conversation_id": None,
                "assistant_id": assistant.pk,
                "text": "[[delay:0.005]] [[tokens:40]] spend",
            }
        )
        frame = await socket.receive_until(lambda f: f["type"] in {"message.done", "error"})
        if frame["type"] == "error":
            return completed, frame
        assert frame["message"]["status"] == "complete"
        completed += 1


async def test_two_processes_spending_at_once_overspend_by_at_most_one_reply(two_processes):
    a, b = two_processes
    _, cookie = await signed_in("spender")
    assistant = await Assistant.objects.acreate(
        name="Helper", model=settings.LOCAL_PROVIDER_MODEL, protocol="chat_completions"
    )
    await sync_to_async(quota_set)(scope=Quota.Scope.DEFAULT, daily_tokens=BUDGET)
    on_a, on_b = await live_socket(a, cookie), await live_socket(b, cookie)

    (done_a, refused_a), (done_b, refused_b) = await asyncio.wait_for(
        asyncio.gather(spend_until_refused(on_a, assistant), spend_until_refused(on_b, assistant)),
        timeout=120,
    )

    totals = await UsageRecord.objects.aaggregate(
        spent=Sum("total_tokens"), reply=Max("total_tokens")
    )
    assert refused_a["code"] == refused_b["code"] == "over_quota"
    assert "resets_at" in refused_a and "resets_at" in refused_b
    # Both processes wrote replies, at the same time, from one budget.
    assert done_a > 0 and done_b > 0
    assert await UsageRecord.objects.filter(finished_at__isnull=True).acount() == 0
    assert BUDGET <= totals["spent"] <= BUDGET + totals["reply"]
    await on_a.close()
    await on_b.close()
