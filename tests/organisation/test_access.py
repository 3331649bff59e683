"""Who may use which assistant, over the WebSocket and HTTP: a user in the assistant's group,
out of it, and taken out of it while the conversation is open."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from chat.models import Assistant, Conversation, Message
from organisation.models import UsageRecord
from organisation.services.settings import assistant_access_set
from tests.chat.test_views import page_data
from tests.chat.wsclient import make_user, session_cookie_for
from tests.organisation.support import connected, send_new

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]


@sync_to_async
def user_in(username: str, *groups: str):
    user = make_user(username)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user, session_cookie_for(user)


@sync_to_async
def assistants_for_finance():
    """ "Ledger" only for the group finance; "Helper" for everyone."""
    ledger = Assistant.objects.create(name="Ledger", model=settings.LOCAL_PROVIDER_MODEL)
    helper = Assistant.objects.create(name="Helper", model=settings.LOCAL_PROVIDER_MODEL)
    assistant_access_set(assistant=ledger, everyone=False, group_names=["finance"])
    return ledger, helper


def _page(user, path="/"):
    client = Client()
    client.force_login(user)
    return client.get(path)


page = sync_to_async(_page)


async def test_the_picker_offers_only_what_the_user_may_use():
    await assistants_for_finance()
    member, _ = await user_in("fiona", "finance")
    other, _ = await user_in("otto", "sales")

    member_picker = [a["name"] for a in page_data(await page(member))["assistants"]]
    other_picker = [a["name"] for a in page_data(await page(other))["assistants"]]

    assert member_picker == ["Helper", "Ledger"]
    assert other_picker == ["Helper"]
    assert "Ledger" not in (await page(other)).content.decode()


async def test_a_user_outside_the_group_is_refused_and_nothing_is_saved_or_sent():
    ledger, helper = await assistants_for_finance()
    _, cookie = await user_in("otto", "sales")
    socket = await connected(cookie)

    refused = await send_new(socket, ledger, "What are the Q3 numbers?")
    allowed = await send_new(socket, helper, "Hello")

    assert refused["code"] == "not_allowed"
    assert "offered to other groups" in refused["message"]
    assert allowed["message"]["status"] == "complete"
    assert await Conversation.objects.filter(assistant=ledger).acount() == 0
    assert await UsageRecord.objects.filter(assistant=ledger).acount() == 0
    await socket.close()


async def test_a_user_removed_from_the_group_keeps_reading_but_cannot_send():
    ledger, _ = await assistants_for_finance()
    member, cookie = await user_in("fiona", "finance")
    socket = await connected(cookie)
    done = await send_new(socket, ledger, "First question")
    conversation_id = done["message"]["conversation_id"]
    assert done["message"]["status"] == "complete"

    # Taken out of the group while the conversation is open in the tab.
    await sync_to_async(member.groups.clear)()
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "More?"})
    refused_send = await socket.until_type("error")
    await socket.send({"type": "message.regenerate", "conversation_id": conversation_id})
    refused_regenerate = await socket.until_type("error")
    await socket.send({"type": "conversation.open", "conversation_id": conversation_id})
    snapshot = await socket.until_type("conversation.snapshot")
    response = await page(member, f"/c/{conversation_id}/")

    assert refused_send["code"] == refused_regenerate["code"] == "not_allowed"
    assert refused_send["conversation_id"] == conversation_id
    assert "stays readable" in refused_send["message"]
    # Readable: the transcript is all there, on the socket and on the page.
    assert [m["role"] for m in snapshot["messages"]] == ["user", "assistant"]
    assert response.status_code == 200
    data = page_data(response)
    assert data["messages"][0]["content"] == "First question"
    assert data["composer_refusal"]["code"] == "not_allowed"
    assert "Ledger" not in [a["name"] for a in data["assistants"]]
    assert await Message.objects.filter(conversation_id=conversation_id).acount() == 2

    # Back in the group: the same conversation continues.
    await sync_to_async(member.groups.add)(await Group.objects.aget(name="finance"))
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "Now?"})
    again = await socket.receive_until(lambda f: f["type"] in {"error", "message.done"})
    assert again["type"] == "message.done" and again["message"]["status"] == "complete"
    assert page_data(await page(member, f"/c/{conversation_id}/"))["composer_refusal"] is None
    await socket.close()


@pytest.mark.django_db
def test_assistant_set_offers_an_assistant_to_groups_then_to_everyone():
    assistant = Assistant.objects.create(name="Ledger", model="m")

    call_command("assistant_set", "Ledger", "--groups", "finance, audit")
    groups = sorted(assistant.access.groups.values_list("name", flat=True))
    restricted = assistant.access.everyone
    call_command("assistant_set", "Ledger", "--everyone")
    assistant.access.refresh_from_db()

    assert groups == ["audit", "finance"] and restricted is False
    assert assistant.access.everyone is True
    assert assistant.access.groups.count() == 0
