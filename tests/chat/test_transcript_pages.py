"""Long conversations open with their latest messages; older ones come page by page through
GET /api/conversations/<id>/messages?before=<id>, as the reader scrolls up."""

# The fixtures come from test_views (alice, assistant, ...): pytest passes them by name.
# ruff: noqa: F811

import pytest
from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.models import Message, Upload
from tests.chat.test_views import (  # noqa: F401 (fixtures)
    alice,
    alice_client,
    assistant,
    bob,
    bobs_conversation,
    make_conversation,
    page_data,
)
from tests.chat.wsclient import ChatSocket, session_cookie_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_size(settings):
    settings.CHAT_TRANSCRIPT_PAGE_SIZE = 4
    return 4


def numbered(n: int) -> list[tuple[str, str]]:
    return [("user" if i % 2 == 0 else "assistant", f"message {i}") for i in range(n)]


def messages_url(conversation, **params) -> str:
    url = reverse("chat:api_conversation_messages", args=[conversation.pk])
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{url}?{query}" if query else url


def contents(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages]


def test_the_page_carries_the_latest_messages_and_says_more_exist(
    alice_client, alice, assistant, page_size
):
    conversation = make_conversation(alice, assistant, "Long", messages=numbered(10))

    data = page_data(alice_client.get(reverse("chat:conversation", args=[conversation.pk])))

    assert contents(data["messages"]) == ["message 6", "message 7", "message 8", "message 9"]
    assert data["has_older"] is True
    assert data["urls"]["messages"] == "/api/conversations/{id}/messages"


def test_a_short_conversation_is_whole_on_the_page(alice_client, alice, assistant, page_size):
    conversation = make_conversation(alice, assistant, "Short", messages=numbered(4))

    data = page_data(alice_client.get(reverse("chat:conversation", args=[conversation.pk])))

    assert contents(data["messages"]) == [f"message {i}" for i in range(4)]
    assert data["has_older"] is False


def test_paging_back_from_the_page_gives_every_message_once_in_order(
    alice_client, alice, assistant, page_size
):
    conversation = make_conversation(alice, assistant, "Long", messages=numbered(10))
    shown = page_data(alice_client.get(reverse("chat:conversation", args=[conversation.pk])))[
        "messages"
    ]

    pages = 0
    has_older = True
    while has_older:
        response = alice_client.get(messages_url(conversation, before=shown[0]["id"]))
        assert response.status_code == 200
        body = response.json()
        shown = body["messages"] + shown
        has_older = body["has_older"]
        pages += 1

    assert contents(shown) == [f"message {i}" for i in range(10)]
    assert pages == 2  # 4 on the page, then 4 and 2


def test_a_smaller_limit_is_honoured(alice_client, alice, assistant, page_size):
    conversation = make_conversation(alice, assistant, "Long", messages=numbered(10))
    last = Message.objects.filter(conversation=conversation).order_by("-id").first()

    body = alice_client.get(messages_url(conversation, before=last.pk, limit=2)).json()

    assert contents(body["messages"]) == ["message 7", "message 8"]
    assert body["has_older"] is True


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"before": "abc"}, "`before` and `limit` must be whole numbers."),
        ({"before": "0"}, "`before` is not a message id."),
        ({"before": "9" * 30}, "`before` is not a message id."),
        ({"limit": "0"}, "`limit` must be between 1 and 4."),
        ({"limit": "5"}, "`limit` must be between 1 and 4."),
        ({"limit": "1.5"}, "`before` and `limit` must be whole numbers."),
    ],
)
def test_bad_paging_parameters_are_a_clear_400(
    alice_client, alice, assistant, page_size, params, error
):
    conversation = make_conversation(alice, assistant, "Long", messages=numbered(3))

    response = alice_client.get(messages_url(conversation, **params))

    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_someone_elses_or_an_unknown_conversation_is_404(alice_client, bobs_conversation):
    response = alice_client.get(messages_url(bobs_conversation))
    assert response.status_code == 404
    assert response.json() == {"error": "No such conversation."}
    assert "swordfish" not in response.content.decode()

    missing = reverse("chat:api_conversation_messages", args=[bobs_conversation.pk + 1000])
    assert alice_client.get(missing).status_code == 404


def test_signed_out_gets_401_json(client, bobs_conversation):
    response = client.get(messages_url(bobs_conversation))
    assert response.status_code == 401
    assert response.json() == {"error": "Sign in to continue."}


def test_the_page_costs_the_same_queries_at_any_length(alice_client, alice, assistant):
    short = make_conversation(alice, assistant, "Short", messages=numbered(3))
    long = make_conversation(alice, assistant, "Long", messages=numbered(600))

    def queries(conversation) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.get(reverse("chat:conversation", args=[conversation.pk]))
        assert response.status_code == 200
        return len(captured)

    queries(short)  # the session and the user are cached after the first request
    assert queries(long) == queries(short)
    body_bytes = len(alice_client.get(reverse("chat:conversation", args=[long.pk])).content)
    # 50 messages, not 600: the page's size does not grow with the transcript.
    assert body_bytes < 60_000


def test_a_citation_of_a_file_attached_before_the_window_still_links_to_it(
    alice_client, alice, assistant, page_size
):
    conversation = make_conversation(alice, assistant, "Cited", messages=numbered(2))
    first_user_message = Message.objects.filter(conversation=conversation).first()
    upload = Upload(
        owner=alice,
        conversation=conversation,
        message=first_user_message,
        name="policy.txt",
        content_type="text/plain",
        size=6,
    )
    upload.file.save("policy.txt", ContentFile(b"policy"), save=False)
    upload.save()
    for _ in range(5):
        Message.objects.create(conversation=conversation, role="user", content="more")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="See [1].",
        citations=[{"number": 1, "file_id": upload.site_file_id, "quote": "policy"}],
    )

    data = page_data(alice_client.get(reverse("chat:conversation", args=[conversation.pk])))

    assert first_user_message.pk not in [m["id"] for m in data["messages"]]
    assert data["messages"][-1]["citations"][0]["url"] == f"/files/{upload.pk}/"


@pytest.mark.django_db(transaction=True)
async def test_the_sockets_snapshot_carries_the_latest_messages_too(alice, assistant, page_size):
    conversation = await sync_to_async(make_conversation)(
        alice, assistant, "Long", messages=numbered(10)
    )
    socket = ChatSocket(await sync_to_async(session_cookie_for)(alice))
    assert await socket.connect()

    await socket.send({"type": "conversation.open", "conversation_id": conversation.pk})
    snapshot = await socket.until_type("conversation.snapshot")

    assert contents(snapshot["messages"]) == [f"message {i}" for i in range(6, 10)]
    assert snapshot["has_older"] is True
    await socket.close()


def test_search_finds_a_conversation_by_a_message_the_page_did_not_send(
    alice_client, alice, assistant, page_size
):
    conversation = make_conversation(
        alice, assistant, "Long", messages=[("user", "the zebra crossing"), *numbered(10)]
    )
    page = page_data(alice_client.get(reverse("chat:conversation", args=[conversation.pk])))
    assert "the zebra crossing" not in contents(page["messages"])

    found = alice_client.get(reverse("chat:api_conversations"), {"q": "zebra"}).json()

    assert [c["id"] for c in found["conversations"]] == [conversation.pk]
