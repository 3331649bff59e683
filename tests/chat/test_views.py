"""The chat page and its JSON API, as a browser (or a curious user) sees them over HTTP."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chat.models import Assistant, Conversation, Message
from tests.chat import connections

pytestmark = pytest.mark.django_db

BASE_TIME = timezone.now().replace(microsecond=0) - timedelta(days=30)
PASSWORD = "pw-for-tests-123"


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob", password=PASSWORD)


@pytest.fixture
def assistant():
    return Assistant.objects.create(
        name="Helper",
        description="Answers questions.",
        connection=connections.connection("local"),
        model="local-echo-1",
    )


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bobs_conversation(bob, assistant):
    return make_conversation(
        bob, assistant, "Bob's secret plans", messages=[("user", "the password is swordfish")]
    )


def make_conversation(owner, assistant, title="", minutes=0, messages=()):
    conversation = Conversation.objects.create(owner=owner, assistant=assistant, title=title)
    Conversation.objects.filter(pk=conversation.pk).update(
        updated_at=BASE_TIME + timedelta(minutes=minutes)
    )
    for role, content in messages:
        Message.objects.create(conversation=conversation, role=role, content=content)
    conversation.refresh_from_db()
    return conversation


def page_data(response) -> dict:
    """The JSON the page embeds for its script (json_script id "chat-data")."""
    html = response.content.decode()
    start = html.index('<script id="chat-data" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def rename_url(pk):
    return reverse("chat:api_conversation_rename", args=[pk])


def delete_url(pk):
    return reverse("chat:api_conversation_delete", args=[pk])


def restore_url(pk):
    return reverse("chat:api_conversation_restore", args=[pk])


# --- Sign-in -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", [("chat:index", []), ("chat:conversation", [1])])
def test_pages_redirect_anonymous_users_to_login(client, name, args):
    url = reverse(name, args=args)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_api_answers_anonymous_users_with_401_json(client):
    responses = [
        client.get(reverse("chat:api_conversations")),
        client.post(rename_url(1), {"title": "x"}),
        client.post(delete_url(1)),
    ]

    for response in responses:
        assert response.status_code == 401
        assert response.json() == {"error": "Sign in to continue."}


def test_login_page_is_public_and_signs_in(client, alice):
    assert client.get(reverse("login")).status_code == 200

    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("chat:index")
    assert client.get(reverse("chat:index")).status_code == 200


def test_login_page_shows_a_readable_error(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_page_has_a_logout_form_that_posts(alice_client):
    html = alice_client.get(reverse("chat:index")).content.decode()

    assert f'method="post" action="{reverse("logout")}"' in html
    assert alice_client.post(reverse("logout")).status_code == 302
    assert alice_client.get(reverse("chat:index")).status_code == 302


# --- The page ------------------------------------------------------------------------------


def test_index_embeds_assistants_and_the_first_sidebar_page(alice_client, alice, assistant):
    Assistant.objects.create(name="Retired", model="m", is_active=False)
    conversation = make_conversation(alice, assistant, "Trip to Lisbon")

    response = alice_client.get(reverse("chat:index"))

    assert response.status_code == 200
    data = page_data(response)
    assert data["assistants"] == [
        {
            "id": assistant.pk,
            "name": "Helper",
            "description": "Answers questions.",
            "icon": "",
            "starter_prompts": [],
            "file_search": False,
            "code_interpreter": False,
        }
    ]
    assert [c["id"] for c in data["conversations"]] == [conversation.pk]
    assert data["conversations"][0]["assistant"] == {"id": assistant.pk, "name": "Helper"}
    assert data["next_cursor"] is None
    assert data["conversation"] is None
    assert data["messages"] == []
    assert data["urls"]["conversation"] == "/c/{id}/"
    assert data["urls"]["rename"] == "/api/conversations/{id}/rename"
    # The picker is in the HTML itself, not only in the data.
    # The header names the assistant of a new chat before the script runs.
    assert '<span class="assistant-name">Helper</span>' in response.content.decode()


def test_conversation_page_embeds_its_transcript(alice_client, alice, assistant):
    conversation = make_conversation(
        alice,
        assistant,
        "Dinner",
        messages=[("user", "Recipe <b>please</b>"), ("assistant", "**Carbonara**: eggs")],
    )

    response = alice_client.get(reverse("chat:conversation", args=[conversation.pk]))

    assert response.status_code == 200
    data = page_data(response)
    assert data["conversation"]["id"] == conversation.pk
    assert data["conversation"]["title"] == "Dinner"
    assert [(m["role"], m["content"]) for m in data["messages"]] == [
        ("user", "Recipe <b>please</b>"),
        ("assistant", "**Carbonara**: eggs"),
    ]
    # json_script escapes markup: the message cannot close the script element.
    assert "Recipe <b>please</b>" not in response.content.decode()
    assert "<title>Dinner · Assistants</title>" in response.content.decode()


def test_page_without_assistants_says_so(alice_client):
    html = alice_client.get(reverse("chat:index")).content.decode()

    assert '<button type="button" class="assistant-button" id="assistant-button" disabled>' in html
    assert "Ask an administrator to add an assistant." in html


def test_conversation_whose_assistant_was_deleted_stays_readable(alice_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Orphan", messages=[("user", "still here")])
    assistant.delete()

    response = alice_client.get(reverse("chat:conversation", args=[conversation.pk]))

    assert response.status_code == 200
    assert page_data(response)["conversation"]["assistant"] is None
    assert page_data(response)["messages"][0]["content"] == "still here"
    assert "Assistant removed" in response.content.decode()


def test_conversation_page_is_404_for_another_users_conversation(alice_client, bobs_conversation):
    response = alice_client.get(reverse("chat:conversation", args=[bobs_conversation.pk]))

    assert response.status_code == 404


def test_page_never_shows_another_users_conversations(alice_client, alice, assistant, bob):
    make_conversation(alice, assistant, "Alice's notes")
    make_conversation(bob, assistant, "Bob's secret plans")

    response = alice_client.get(reverse("chat:index"))

    assert [c["title"] for c in page_data(response)["conversations"]] == ["Alice's notes"]
    assert b"Bob's secret plans" not in response.content
    assert b"Bob&#x27;s secret plans" not in response.content


def test_page_query_count_does_not_grow_with_conversations(alice_client, alice, assistant):
    def queries_for(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(url).status_code == 200
        return len(captured)

    open_one = make_conversation(
        alice, assistant, "open", messages=[("user", "hi"), ("assistant", "hello")]
    )
    for i in range(2):
        make_conversation(alice, assistant, f"conversation {i}", minutes=i + 1)
    page_few = queries_for(reverse("chat:index"))
    open_few = queries_for(reverse("chat:conversation", args=[open_one.pk]))
    api_few = queries_for(reverse("chat:api_conversations"))

    for i in range(2, 59):
        make_conversation(alice, assistant, f"conversation {i}", minutes=i + 1)
    assert Conversation.objects.filter(owner=alice).count() == 60

    assert queries_for(reverse("chat:index")) == page_few
    assert queries_for(reverse("chat:conversation", args=[open_one.pk])) == open_few
    assert queries_for(reverse("chat:api_conversations")) == api_few


# --- JSON: listing and search --------------------------------------------------------------


def test_api_lists_own_conversations_newest_first(alice_client, alice, bob, assistant):
    older = make_conversation(alice, assistant, "older", minutes=1)
    newer = make_conversation(alice, assistant, "newer", minutes=2)
    make_conversation(bob, assistant, "bob's", minutes=3)

    body = alice_client.get(reverse("chat:api_conversations")).json()

    assert [c["id"] for c in body["conversations"]] == [newer.pk, older.pk]
    assert set(body["conversations"][0]) == {
        "id",
        "title",
        "assistant",
        "created_at",
        "updated_at",
        "pinned_at",
    }
    assert body["next_cursor"] is None
    assert body["pinned"] == []


def test_api_search_by_title_and_by_content(alice_client, alice, assistant):
    lisbon = make_conversation(alice, assistant, "Trip to Lisbon", minutes=1)
    dinner = make_conversation(
        alice,
        assistant,
        "Dinner",
        minutes=2,
        messages=[("assistant", "Try the pastries in LISBON")],
    )
    make_conversation(alice, assistant, "Budget", minutes=3, messages=[("user", "numbers")])
    url = reverse("chat:api_conversations")

    by_title_and_content = alice_client.get(url, {"q": "lisbon"}).json()
    by_content = alice_client.get(url, {"q": "Pastries"}).json()

    assert [c["id"] for c in by_title_and_content["conversations"]] == [dinner.pk, lisbon.pk]
    assert [c["id"] for c in by_content["conversations"]] == [dinner.pk]


def test_api_search_by_content_ascii(alice_client, alice, assistant):
    dinner = make_conversation(
        alice, assistant, "Dinner", messages=[("assistant", "Carbonara needs eggs")]
    )

    body = alice_client.get(reverse("chat:api_conversations"), {"q": "  carbonara "}).json()

    assert [c["id"] for c in body["conversations"]] == [dinner.pk]


def test_api_search_never_finds_another_users_conversations(alice_client, bobs_conversation):
    url = reverse("chat:api_conversations")

    assert alice_client.get(url, {"q": "secret"}).json()["conversations"] == []
    assert alice_client.get(url, {"q": "swordfish"}).json()["conversations"] == []


def test_api_pages_with_a_cursor(alice_client, alice, assistant, settings):
    settings.CHAT_SIDEBAR_PAGE_SIZE = 2
    created = [make_conversation(alice, assistant, f"c{i}", minutes=i // 2) for i in range(5)]
    expected = [c.pk for c in sorted(created, key=lambda c: (c.updated_at, c.pk), reverse=True)]
    url = reverse("chat:api_conversations")

    seen, cursor, pages = [], None, 0
    while True:
        body = alice_client.get(url, {"cursor": cursor} if cursor else {}).json()
        seen += [c["id"] for c in body["conversations"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == expected
    assert pages == 3


def test_api_cursor_works_with_search(alice_client, alice, assistant, settings):
    settings.CHAT_SIDEBAR_PAGE_SIZE = 1
    first = make_conversation(alice, assistant, "report one", minutes=1)
    second = make_conversation(alice, assistant, "report two", minutes=2)
    make_conversation(alice, assistant, "other", minutes=3)
    url = reverse("chat:api_conversations")

    page1 = alice_client.get(url, {"q": "report"}).json()
    page2 = alice_client.get(url, {"q": "report", "cursor": page1["next_cursor"]}).json()

    assert [c["id"] for c in page1["conversations"]] == [second.pk]
    assert [c["id"] for c in page2["conversations"]] == [first.pk]
    assert page2["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["garbage", "bm90LWEtZGF0ZXwx", "MjAyNi0wMS0wMXxub3Q"])
def test_api_rejects_a_malformed_cursor(alice_client, cursor):
    response = alice_client.get(reverse("chat:api_conversations"), {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {"error": "Invalid cursor."}


def test_api_listing_is_get_only(alice_client):
    assert alice_client.post(reverse("chat:api_conversations")).status_code == 405


# --- JSON: rename --------------------------------------------------------------------------


def test_rename_with_a_form_body_saves_and_returns_the_conversation(alice_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Old title")

    response = alice_client.post(rename_url(conversation.pk), {"title": "  New   title "})

    assert response.status_code == 200
    assert response.json()["id"] == conversation.pk
    assert response.json()["title"] == "New title"
    assert response.json()["assistant"] == {"id": assistant.pk, "name": "Helper"}
    conversation.refresh_from_db()
    assert conversation.title == "New title"


def test_rename_with_a_json_body(alice_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Old title")

    response = alice_client.post(
        rename_url(conversation.pk), {"title": "From JSON"}, content_type="application/json"
    )

    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.title == "From JSON"


@pytest.mark.parametrize(
    "body,content_type",
    [
        ({"title": "   "}, "application/x-www-form-urlencoded"),
        ({}, "application/x-www-form-urlencoded"),
        ({"title": 42}, "application/json"),
        ("not json", "application/json"),
    ],
)
def test_rename_refuses_an_empty_or_missing_title(
    alice_client, alice, assistant, body, content_type
):
    conversation = make_conversation(alice, assistant, "Keep me")
    if content_type == "application/json":
        response = alice_client.post(
            rename_url(conversation.pk),
            json.dumps(body) if isinstance(body, dict) else body,
            content_type=content_type,
        )
    else:
        response = alice_client.post(rename_url(conversation.pk), body)

    assert response.status_code == 400
    assert response.json()["error"]
    conversation.refresh_from_db()
    assert conversation.title == "Keep me"


def test_rename_refuses_a_title_over_200_characters_with_a_code(alice_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Keep me")

    response = alice_client.post(rename_url(conversation.pk), {"title": "x" * 201})

    assert response.status_code == 400
    assert response.json() == {
        "error": "A title has at most 200 characters.",
        "code": "too_long",
    }
    conversation.refresh_from_db()
    assert conversation.title == "Keep me"


def test_rename_is_404_for_another_users_conversation(alice_client, bobs_conversation):
    response = alice_client.post(rename_url(bobs_conversation.pk), {"title": "Mine now"})

    assert response.status_code == 404
    assert response.json() == {"error": "No such conversation."}
    bobs_conversation.refresh_from_db()
    assert bobs_conversation.title == "Bob's secret plans"


def test_rename_and_delete_are_post_only(alice_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Stay")

    assert alice_client.get(rename_url(conversation.pk)).status_code == 405
    assert alice_client.get(delete_url(conversation.pk)).status_code == 405
    assert Conversation.objects.filter(pk=conversation.pk).exists()


# --- JSON: pin ----------------------------------------------------------------------------


def pin_url(pk):
    return reverse("chat:api_conversation_pin", args=[pk])


def test_pin_and_unpin(alice_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Keep handy")

    pinned = alice_client.post(
        pin_url(conversation.pk), {"pinned": True}, content_type="application/json"
    )
    conversation.refresh_from_db()
    pinned_at = conversation.pinned_at
    unpinned = alice_client.post(pin_url(conversation.pk), {"pinned": "false"})
    conversation.refresh_from_db()

    assert pinned.status_code == 200
    assert pinned.json()["pinned_at"] == pinned_at.isoformat()
    assert unpinned.status_code == 200
    assert unpinned.json()["pinned_at"] is None
    assert conversation.pinned_at is None
    # Pinning is not activity: the conversation keeps its place among the dates.
    assert conversation.updated_at == BASE_TIME


def test_first_pages_list_the_pinned_conversations_most_recently_pinned_first(
    alice_client, alice, bob, assistant, settings
):
    settings.CHAT_SIDEBAR_PAGE_SIZE = 2
    old_pinned = make_conversation(alice, assistant, "old report", minutes=1)
    recent_pinned = make_conversation(alice, assistant, "plans", minutes=2)
    for i in range(3):
        make_conversation(alice, assistant, f"recent {i}", minutes=10 + i)
    Conversation.objects.filter(pk=old_pinned.pk).update(pinned_at=BASE_TIME)
    Conversation.objects.filter(pk=recent_pinned.pk).update(
        pinned_at=BASE_TIME + timedelta(hours=1)
    )
    bobs = make_conversation(bob, assistant, "bob's report")
    Conversation.objects.filter(pk=bobs.pk).update(pinned_at=BASE_TIME)
    url = reverse("chat:api_conversations")

    first = alice_client.get(url).json()
    second = alice_client.get(url, {"cursor": first["next_cursor"]}).json()
    search = alice_client.get(url, {"q": "report"}).json()
    page = page_data(alice_client.get(reverse("chat:index")))

    assert [c["id"] for c in first["pinned"]] == [recent_pinned.pk, old_pinned.pk]
    assert first["pinned"][0]["pinned_at"] is not None
    assert "pinned" not in second
    assert [c["id"] for c in search["pinned"]] == [old_pinned.pk]
    assert [c["id"] for c in page["pinned"]] == [recent_pinned.pk, old_pinned.pk]
    assert page["urls"]["pin"] == "/api/conversations/{id}/pin"


@pytest.mark.parametrize("body", [{}, {"pinned": "yes"}, {"pinned": 1}])
def test_pin_needs_true_or_false(alice_client, alice, assistant, body):
    conversation = make_conversation(alice, assistant, "Unchanged")

    response = alice_client.post(pin_url(conversation.pk), body, content_type="application/json")

    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.pinned_at is None


def test_pin_is_404_for_another_users_conversation_and_post_only(alice_client, bobs_conversation):
    response = alice_client.post(
        pin_url(bobs_conversation.pk), {"pinned": True}, content_type="application/json"
    )

    assert response.status_code == 404
    assert alice_client.get(pin_url(bobs_conversation.pk)).status_code == 405
    bobs_conversation.refresh_from_db()
    assert bobs_conversation.pinned_at is None


# --- JSON: delete --------------------------------------------------------------------------


def test_delete_hides_the_conversation_at_once_and_undo_brings_it_back(
    alice_client, alice, assistant
):
    conversation = make_conversation(alice, assistant, "Bye", messages=[("user", "hi")])

    response = alice_client.post(delete_url(conversation.pk))

    assert response.status_code == 200
    assert response.json() == {"deleted": conversation.pk, "undo_seconds": 10.0}
    # Answers like an unknown conversation everywhere: page, API, listing.
    assert alice_client.get(reverse("chat:conversation", args=[conversation.pk])).status_code == 404
    assert alice_client.post(rename_url(conversation.pk), {"title": "x"}).status_code == 404
    listing = alice_client.get(reverse("chat:api_conversations")).json()
    assert listing["conversations"] == []
    assert Message.objects.filter(conversation_id=conversation.pk).count() == 1

    restored = alice_client.post(restore_url(conversation.pk))

    assert restored.status_code == 200
    assert restored.json()["title"] == "Bye"
    assert alice_client.get(reverse("chat:conversation", args=[conversation.pk])).status_code == 200


# transaction=True: the purge reads through database_sync_to_async, whose connection
# clean-up would close the test's connection inside its transaction on PostgreSQL. The
# local_connection fixture seeds again what an earlier test's flush removed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_connection")
def test_undo_after_the_window_is_refused_and_the_purge_deletes_it(
    alice_client, alice, assistant, settings
):
    conversation = make_conversation(alice, assistant, "Bye", messages=[("user", "hi")])
    alice_client.post(delete_url(conversation.pk))
    settings.CHAT_UNDO_SECONDS = 0

    late = alice_client.post(restore_url(conversation.pk))

    assert late.status_code == 409
    assert late.json()["code"] == "expired"
    call_command("purge_deleted_conversations", stdout=io.StringIO())
    assert not Conversation.all_objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert alice_client.post(restore_url(conversation.pk)).status_code == 404


def test_delete_and_undo_are_404_for_another_users_conversation(
    alice_client, bob, bobs_conversation
):
    response = alice_client.post(delete_url(bobs_conversation.pk))
    assert response.status_code == 404
    assert Conversation.objects.filter(pk=bobs_conversation.pk).exists()
    Conversation.objects.filter(pk=bobs_conversation.pk).update(deleted_at=timezone.now())
    assert alice_client.post(restore_url(bobs_conversation.pk)).status_code == 404


def test_delete_does_not_wait_for_the_provider(alice_client, alice, assistant, settings):
    # A provider that is down (switched off) no longer blocks a delete: the thread is deleted
    # by the purge, and a failure there is recorded for retry_remote_cleanup.
    settings.LOCAL_PROVIDER_ENABLED = False
    conversation = make_conversation(alice, assistant, "Remote", messages=[("user", "hi")])
    Conversation.objects.filter(pk=conversation.pk).update(remote_thread_id="thread_abc")

    response = alice_client.post(delete_url(conversation.pk))

    assert response.status_code == 200
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


# --- CSRF ----------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_rename_and_delete_without_a_csrf_token_are_refused(csrf_client, alice, assistant):
    conversation = make_conversation(alice, assistant, "Protected")

    rename = csrf_client.post(
        rename_url(conversation.pk), {"title": "Hijacked"}, content_type="application/json"
    )
    delete = csrf_client.post(delete_url(conversation.pk))

    assert rename.status_code == 403
    assert delete.status_code == 403
    conversation.refresh_from_db()
    assert conversation.title == "Protected"


def test_rename_and_delete_with_the_csrf_header_from_the_cookie_succeed(
    csrf_client, alice, assistant
):
    conversation = make_conversation(alice, assistant, "Protected")
    # The page sets the cookie; the script sends it back in the X-CSRFToken header.
    csrf_client.get(reverse("chat:index"))
    token = csrf_client.cookies["csrftoken"].value

    rename = csrf_client.post(
        rename_url(conversation.pk),
        {"title": "Renamed"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    delete = csrf_client.post(delete_url(conversation.pk), headers={"X-CSRFToken": token})

    assert rename.status_code == 200
    assert delete.status_code == 200
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
