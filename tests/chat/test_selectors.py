"""The sidebar and transcript reads: ordering, isolation, search, keyset pages, query count."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import selectors
from chat.models import Assistant, Conversation, Message
from tests.chat import connections

pytestmark = pytest.mark.django_db

BASE_TIME = timezone.now().replace(microsecond=0) - timedelta(days=30)


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def assistant():
    return Assistant.objects.create(
        name="Helper", connection=connections.connection("local"), model="local-echo-1"
    )


def make_conversation(owner, assistant, title="", minutes=0, messages=()):
    """A conversation whose last activity is `minutes` after BASE_TIME."""
    conversation = Conversation.objects.create(owner=owner, assistant=assistant, title=title)
    Conversation.objects.filter(pk=conversation.pk).update(
        updated_at=BASE_TIME + timedelta(minutes=minutes)
    )
    for role, content in messages:
        Message.objects.create(conversation=conversation, role=role, content=content)
    conversation.refresh_from_db()
    return conversation


def ids(conversations):
    return [c.pk for c in conversations]


def test_newest_activity_first_with_id_breaking_ties(alice, assistant):
    old = make_conversation(alice, assistant, "old", minutes=1)
    tie_a = make_conversation(alice, assistant, "tie a", minutes=5)
    tie_b = make_conversation(alice, assistant, "tie b", minutes=5)
    new = make_conversation(alice, assistant, "new", minutes=9)

    listed = selectors.conversation_list(user=alice, limit=10)

    assert ids(listed) == [new.pk, tie_b.pk, tie_a.pk, old.pk]


def test_lists_only_the_users_own_conversations(alice, bob, assistant):
    mine = make_conversation(alice, assistant, "mine")
    make_conversation(bob, assistant, "bob's")

    assert ids(selectors.conversation_list(user=alice, limit=10)) == [mine.pk]


def test_search_matches_title_case_insensitively(alice, assistant):
    trip = make_conversation(alice, assistant, "Trip to Lisbon", minutes=1)
    make_conversation(alice, assistant, "Budget", minutes=2)

    assert ids(selectors.conversation_list(user=alice, query="lisBON", limit=10)) == [trip.pk]


def test_search_matches_message_content_once_per_conversation(alice, assistant):
    pasta = make_conversation(
        alice,
        assistant,
        "Dinner",
        minutes=1,
        messages=[("user", "A recipe for Carbonara?"), ("assistant", "Carbonara needs eggs.")],
    )
    make_conversation(alice, assistant, "Other", messages=[("user", "hello")])

    listed = selectors.conversation_list(user=alice, query="carbonara", limit=10)

    assert ids(listed) == [pasta.pk]


def test_search_never_reaches_another_users_messages(alice, bob, assistant):
    make_conversation(bob, assistant, "Secret plans", messages=[("user", "the secret word")])

    assert selectors.conversation_list(user=alice, query="secret", limit=10) == []


def test_keyset_pages_cover_everything_once_even_with_equal_timestamps(alice, assistant):
    # Pairs share a timestamp, so a cursor on updated_at alone would skip or repeat rows.
    created = [make_conversation(alice, assistant, f"c{i}", minutes=i // 2) for i in range(7)]
    expected = ids(sorted(created, key=lambda c: (c.updated_at, c.pk), reverse=True))

    seen, before, pages = [], None, 0
    while True:
        page = selectors.conversation_page(user=alice, before=before, limit=3)
        seen += ids(page.conversations)
        pages += 1
        if page.next_before is None:
            break
        before = page.next_before

    assert seen == expected
    assert pages == 3


def test_page_has_no_next_cursor_when_exactly_full(alice, assistant):
    for i in range(3):
        make_conversation(alice, assistant, f"c{i}", minutes=i)

    page = selectors.conversation_page(user=alice, limit=3)

    assert len(page.conversations) == 3
    assert page.next_before is None


def test_search_and_cursor_combine(alice, assistant):
    matches = [make_conversation(alice, assistant, f"report {i}", minutes=i) for i in range(4)]
    make_conversation(alice, assistant, "unrelated", minutes=10)

    first = selectors.conversation_page(user=alice, query="report", limit=2)
    second = selectors.conversation_page(
        user=alice, query="report", before=first.next_before, limit=2
    )

    assert ids(first.conversations) == [matches[3].pk, matches[2].pk]
    assert ids(second.conversations) == [matches[1].pk, matches[0].pk]
    assert second.next_before is None


@pytest.mark.parametrize("query", ["", "conversation"])
def test_sidebar_query_count_does_not_grow_with_conversations(alice, assistant, query):
    def queries_for_listing() -> int:
        with CaptureQueriesContext(connection) as captured:
            listed = selectors.conversation_list(user=alice, query=query, limit=100)
            # What the sidebar shows of each row: the assistant must already be loaded.
            [(c.title, c.assistant.name if c.assistant else None) for c in listed]
        return len(captured)

    for i in range(3):
        make_conversation(alice, assistant, f"conversation {i}", minutes=i)
    few = queries_for_listing()
    for i in range(3, 60):
        make_conversation(alice, assistant, f"conversation {i}", minutes=i)
    many = queries_for_listing()

    assert few == many == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_sidebar_listing_uses_the_sidebar_index(alice, assistant):
    plan = selectors._sidebar_queryset(user=alice).explain()

    assert "sidebar_idx" in plan


def test_conversation_get_refuses_another_users_conversation(alice, bob, assistant):
    theirs = make_conversation(bob, assistant, "bob's")

    with pytest.raises(Conversation.DoesNotExist):
        selectors.conversation_get(user=alice, conversation_id=theirs.pk)
    assert selectors.conversation_get(user=bob, conversation_id=theirs.pk) == theirs


def test_message_list_is_oldest_first(alice, assistant):
    conversation = make_conversation(
        alice, assistant, messages=[("user", "one"), ("assistant", "two"), ("user", "three")]
    )

    contents = [m.content for m in selectors.message_list(conversation=conversation)]

    assert contents == ["one", "two", "three"]


def test_assistant_list_active_hides_inactive_assistants():
    Assistant.objects.create(name="Zed", model="m")
    Assistant.objects.create(name="Alpha", model="m")
    Assistant.objects.create(name="Retired", model="m", is_active=False)

    user = get_user_model().objects.create_user("picker")

    assert [a.name for a in selectors.assistant_list_active(user=user)] == ["Alpha", "Zed"]
