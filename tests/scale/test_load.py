"""Load: 200 signed-in users at once on one Daphne process, 5 messages each.

Afterwards every message and every reply is saved exactly once, in order, complete, and no
socket saw anything of another user. The figures are printed whether or not it passes (they
show in CI's log). LOAD_USERS=20 makes a quick run while developing.
"""

import json
import os

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from chat.models import Assistant, Conversation, Message
from localai.engine.model import reply_text
from tests.scale.live_socket import session_cookie
from tests.scale.load import marker, run_load
from tests.scale.support import app_process, requires_scale

# The app process runs over PostgreSQL and Redis like a deployment; its provider is the
# session's local provider process (see conftest.py).
pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]

USERS = int(os.environ.get("LOAD_USERS", "200"))
MESSAGES = 5
DEADLINE = 300.0  # seconds for the whole load; the test fails past it


@sync_to_async
def load_users(count: int) -> tuple[list, list[str]]:
    User = get_user_model()
    password = make_password("load-pw-123456")  # hashed once: hashing is slow on purpose
    users = User.objects.bulk_create(
        [User(username=f"load-{index:04d}", password=password) for index in range(count)]
    )
    return users, [session_cookie(user) for user in users]


@sync_to_async
def saved_conversations() -> dict[int, list[Message]]:
    """Owner id -> the messages of each of their conversations, oldest first."""
    by_owner: dict[int, list] = {}
    for conversation in Conversation.objects.prefetch_related("messages"):
        messages = sorted(conversation.messages.all(), key=lambda m: m.pk)
        by_owner.setdefault(conversation.owner_id, []).append(messages)
    return by_owner


@pytest.fixture
def load_process(scale_env, tmp_path):
    # The reply save interval of a real deployment, not the scale tests' short one.
    server = app_process(tmp_path, scale_env, CHAT_REPLY_SAVE_INTERVAL="0.5")
    yield server
    server.stop()


async def test_200_users_chatting_at_once_lose_nothing_and_see_only_their_own(load_process, capsys):
    users, cookies = await load_users(USERS)
    assistant = await Assistant.objects.acreate(name="Load", model=settings.LOCAL_PROVIDER_MODEL)

    result = await run_load(
        ws_url=load_process.ws_url,
        cookies=cookies,
        assistant_id=assistant.pk,
        messages=MESSAGES,
        deadline=DEADLINE,
    )
    with capsys.disabled():
        print(f"\nload test: {result.figures()}")
        for error in result.errors[:10]:
            print(f"load test error: {error}")

    assert result.errors == []
    assert result.replies == USERS * MESSAGES
    saved = await saved_conversations()
    assert await Message.objects.acount() == USERS * MESSAGES * 2
    for user, run in zip(users, result.users, strict=True):
        # One conversation each, with every message once, in the order sent, each answered.
        [messages] = saved[user.pk]
        assert [m.role for m in messages] == ["user", "assistant"] * MESSAGES
        assert [m.content for m in messages[0::2]] == run.sent
        assert [m.content for m in messages[1::2]] == [reply_text(text) for text in run.sent]
        assert {m.status for m in messages} == {"complete"}
        assert [m.pk for m in messages[1::2]] == run.reply_ids
        # The socket rebuilt each reply exactly from its live deltas.
        assert [run.socket.texts[pk] for pk in run.reply_ids] == [
            reply_text(text) for text in run.sent
        ]
        # Nothing of anyone else: every frame names only this user's conversation and
        # messages, and carries no other user's tag.
        own_ids = {m.pk for m in messages}
        for frame in run.socket.frames:
            dumped = json.dumps(frame)
            assert dumped.count("[load-user-") == dumped.count(marker(run.index))
            if "conversation" in frame:
                assert frame["conversation"]["id"] == run.conversation_id
            if "message" in frame:
                assert frame["message"]["id"] in own_ids
            if "message_id" in frame:
                assert frame["message_id"] in own_ids
