"""Feedback on a reply: thumbs up or down with an optional comment, one per user and reply
and changeable, the owner's replies only; staff read it in the admin per assistant, and in
the usage CSV export."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from chat.models import Assistant, Conversation, Message
from feedback.models import Feedback
from organisation.models import UsageRecord
from tests.chat import connections

pytestmark = pytest.mark.django_db


def make_user(name, **extra):
    return get_user_model().objects.create_user(name, password="pw-for-tests-123", **extra)


def client_for(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def alice():
    return make_user("alice")


@pytest.fixture
def assistant():
    return Assistant.objects.create(
        name="Travel helper", connection=connections.connection("local"), model="local-echo-1"
    )


@pytest.fixture
def reply(alice, assistant):
    conversation = Conversation.objects.create(owner=alice, assistant=assistant, title="Trip")
    Message.objects.create(conversation=conversation, role="user", content="Trains?")
    return Message.objects.create(
        conversation=conversation, role="assistant", content="Trains are covered."
    )


def rate(client, message, body):
    return client.post(
        f"/api/messages/{message.pk}/feedback", body, content_type="application/json"
    )


def listing(client, conversation_id):
    return client.get(f"/api/feedback/?conversation={conversation_id}")


def test_a_user_rates_a_reply_and_changes_their_mind(alice, reply):
    client = client_for(alice)
    response = rate(client, reply, {"rating": "up"})
    assert response.status_code == 200
    assert response.json() == {"message_id": reply.pk, "rating": "up", "comment": ""}

    response = rate(client, reply, {"rating": "down", "comment": "  It forgot the buses.  "})
    assert response.json()["comment"] == "It forgot the buses."
    feedback = Feedback.objects.get()  # one row per user and reply, updated
    assert (feedback.rating, feedback.comment, feedback.user) == (
        "down",
        "It forgot the buses.",
        alice,
    )
    assert listing(client, reply.conversation_id).json() == {
        "feedback": [{"message_id": reply.pk, "rating": "down", "comment": "It forgot the buses."}]
    }

    assert rate(client, reply, {"rating": None}).json()["rating"] is None
    assert not Feedback.objects.exists()
    assert listing(client, reply.conversation_id).json() == {"feedback": []}


def test_only_the_owner_rates_their_replies(reply):
    other = client_for(make_user("bob"))
    response = rate(other, reply, {"rating": "up"})
    assert response.status_code == 404 and response.json() == {"error": "No such reply."}
    assert listing(other, reply.conversation_id).status_code == 404
    assert rate(other, Message(pk=10**6), {"rating": "up"}).status_code == 404
    assert not Feedback.objects.exists()
    anonymous = rate(Client(), reply, {"rating": "up"})
    assert anonymous.status_code == 401


def test_a_user_message_or_a_reply_being_written_takes_no_feedback(alice, reply):
    client = client_for(alice)
    question = reply.conversation.messages.get(role="user")
    response = rate(client, question, {"rating": "up"})
    assert response.status_code == 400 and response.json()["code"] == "not_a_reply"
    reply.status = Message.Status.STREAMING
    reply.save()
    response = rate(client, reply, {"rating": "up"})
    assert response.status_code == 400 and response.json()["code"] == "reply_in_progress"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", None),
        ("[]", None),
        ("{}", None),
        ('{"rating": 1}', None),
        ('{"rating": "up", "comment": 5}', None),
        ('{"rating": "meh"}', "invalid_rating"),
        ('{"rating": "down", "comment": "' + "x" * 2001 + '"}', "comment_too_long"),
    ],
)
def test_bad_input_gets_a_clear_error(alice, reply, body, code):
    response = rate(client_for(alice), reply, body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert response.json().get("code") == code
    assert not Feedback.objects.exists()


def test_bad_listing_queries_get_a_clear_error(alice):
    client = client_for(alice)
    for query in ("", "?conversation=abc", f"?conversation={2**63}"):
        response = client.get(f"/api/feedback/{query}")
        assert response.status_code == 400


def test_rating_needs_the_csrf_token(alice, reply):
    response = rate(client_for(alice, enforce_csrf_checks=True), reply, {"rating": "up"})
    assert response.status_code == 403


def test_staff_see_feedback_per_assistant_with_filters(alice, reply, assistant):
    rate(client_for(alice), reply, {"rating": "down", "comment": "Missed the buses."})
    other = Assistant.objects.create(
        name="Ledger", connection=connections.connection("local"), model="local-echo-1"
    )
    conversation = Conversation.objects.create(owner=alice, assistant=other)
    liked = Message.objects.create(conversation=conversation, role="assistant", content="Sums.")
    rate(client_for(alice), liked, {"rating": "up"})

    staff = client_for(make_user("root", is_staff=True, is_superuser=True))
    page = staff.get("/admin/feedback/feedback/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Missed the buses." in html and "Travel helper" in html and "Ledger" in html
    by_assistant = f"?message__conversation__assistant__id__exact={assistant.pk}"
    html = staff.get(f"/admin/feedback/feedback/{by_assistant}").content.decode()
    assert "Missed the buses." in html and "Sums." not in html
    html = staff.get("/admin/feedback/feedback/?rating__exact=up").content.decode()
    assert "Sums." in html and "Missed the buses." not in html
    today = timezone.localdate()
    query = f"?created_at__year={today.year}&created_at__month={today.month}"
    assert "Missed the buses." in staff.get(f"/admin/feedback/feedback/{query}").content.decode()
    # Staff read feedback; they do not write it.
    feedback = Feedback.objects.get(rating="down")
    change = staff.get(f"/admin/feedback/feedback/{feedback.pk}/change/")
    assert change.status_code == 200 and "Missed the buses." in change.content.decode()
    assert staff.get("/admin/feedback/feedback/add/").status_code == 403


def test_the_usage_csv_carries_the_feedback(alice, reply, assistant):
    rate(client_for(alice), reply, {"rating": "down", "comment": "Missed the buses."})
    now = timezone.now()
    for message in (reply, None):
        UsageRecord.objects.create(
            user=alice,
            assistant=assistant,
            assistant_name=assistant.name,
            connection="local",
            model="local-echo-1",
            reply=message,
            input_tokens=10,
            output_tokens=5,
            total_tokens=15,
            estimated=False,
            created_at=now,
            finished_at=now,
        )
    staff = client_for(make_user("root", is_staff=True, is_superuser=True))
    today = timezone.localdate()
    response = staff.get(f"/admin/organisation/usagerecord/export.csv?start={today}&end={today}")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-2:] == ["feedback", "feedback_comment"]
    assert sorted(row[-2:] for row in rows[1:]) == [["", ""], ["down", "Missed the buses."]]
