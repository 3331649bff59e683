"""Bad input and abuse, beyond the cases of test_consumer.py and test_views.py.

Each bad frame gets a clear error, closes nothing and changes no saved data; a refused frame
(rate limit included) saves nothing; every form of the site is protected by CSRF.
"""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from chat.consumers import FRAME_OVERHEAD
from chat.models import Assistant, Conversation, Message
from tests.chat.test_consumer import connected, local_assistant, signed_in

PASSWORD = "pw-for-tests-123"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('"just a string"', "bad_frame"),
        ("null", "bad_frame"),
        ({"no": "type"}, "unknown_type"),
        ({"type": 5}, "unknown_type"),
        ({"type": "message.send", "assistant_id": 1, "text": 42}, "invalid"),
        ({"type": "message.send", "assistant_id": 1}, "invalid"),
        ({"type": "message.send", "assistant_id": True, "text": "a bool id"}, "invalid"),
        ({"type": "message.send", "conversation_id": 1.5, "text": "a float id"}, "invalid"),
        (
            {
                "type": "message.send",
                "assistant_id": 1,
                "text": "x",
                "client_message_id": "c" * 101,
            },
            "invalid",
        ),
        (
            {"type": "message.send", "assistant_id": 1, "text": "x", "client_message_id": 7},
            "invalid",
        ),
        ({"type": "conversation.open", "conversation_id": "12"}, "invalid"),
        ({"type": "conversation.open", "conversation_id": 999999}, "not_found"),
        ({"type": "turn.stop"}, "invalid"),
    ],
)
async def test_more_bad_frames_get_a_clear_error_and_the_socket_stays_open(frame, code):
    _, cookie = await signed_in()
    socket = await connected(cookie)

    await socket.send(frame)
    error = await socket.until_type("error")
    await socket.send({"type": "ping"})

    assert error["code"] == code and error["message"]
    assert (await socket.until_type("pong"))["type"] == "pong"
    assert await Message.objects.acount() == 0
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_frame_larger_than_any_message_is_refused_before_it_is_parsed():
    _, cookie = await signed_in()
    socket = await connected(cookie)
    huge = "x" * (settings.CHAT_MAX_MESSAGE_CHARS * 2 + FRAME_OVERHEAD + 1)

    await socket.send(huge)
    error = await socket.until_type("error")
    await socket.send({"type": "ping"})

    assert error["code"] == "too_long"
    assert (await socket.until_type("pong"))["type"] == "pong"
    await socket.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_provider_url")
async def test_an_inactive_assistant_is_not_found_and_nothing_is_saved():
    _, cookie = await signed_in()
    retired = await Assistant.objects.acreate(name="Retired", model="m", is_active=False)
    socket = await connected(cookie)

    await socket.send({"type": "message.send", "assistant_id": retired.pk, "text": "hello?"})
    error = await socket.until_type("error")

    assert error["code"] == "not_found"
    assert await Conversation.objects.acount() == 0
    await socket.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_provider_url")
async def test_a_rate_limited_message_is_not_saved(settings):
    settings.CHAT_RATE_LIMIT_FRAMES = 2
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    for _ in range(2):
        await socket.send({"type": "ping"})
        await socket.until_type("pong")

    await socket.send({"type": "message.send", "assistant_id": assistant.pk, "text": "flood"})
    limited = await socket.until_type("error")

    assert limited["code"] == "rate_limited" and limited["retry_after"] > 0
    assert await Conversation.objects.acount() == 0
    assert await Message.objects.acount() == 0
    await socket.close()


# --- Forms and CSRF -------------------------------------------------------------------------


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.mark.django_db
def test_the_login_form_carries_a_csrf_token_and_is_refused_without_one(alice):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("login")).content.decode()

    refused = browser.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert 'name="csrfmiddlewaretoken"' in page
    assert refused.status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    accepted = browser.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert accepted.status_code == 302


@pytest.mark.django_db
def test_the_logout_form_carries_a_csrf_token_and_a_forged_logout_changes_nothing(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(reverse("chat:index")).content.decode()
    logout_form = page[page.index(f'action="{reverse("logout")}"') :]

    forged = browser.post(reverse("logout"))

    assert 'name="csrfmiddlewaretoken"' in logout_form[: logout_form.index("</form>")]
    assert forged.status_code == 403
    assert browser.get(reverse("chat:index")).status_code == 200  # still signed in


@pytest.mark.django_db
def test_every_post_form_of_the_pages_carries_a_csrf_token(alice):
    browser = Client()
    pages = [browser.get(reverse("login")).content.decode()]
    browser.force_login(alice)
    pages.append(browser.get(reverse("chat:index")).content.decode())

    forms = [
        form
        for page in pages
        for form in re.findall(r"<form\b[^>]*>.*?</form>", page, flags=re.S)
        if re.search(r'method="post"', form, flags=re.I)
    ]

    assert len(forms) >= 2
    for form in forms:
        assert 'name="csrfmiddlewaretoken"' in form, form[:200]
