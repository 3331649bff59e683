"""Bad input and abuse, beyond the cases of test_consumer.py and test_views.py.

Each bad frame gets a clear error, closes nothing and changes no saved data; a refused frame
(rate limit included) saves nothing; every form of the site is protected by CSRF.
"""

import base64
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from chat.consumers import frame_max_chars
from chat.models import Assistant, Conversation, Message, Upload
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
    huge = "x" * (frame_max_chars() + 1)

    await socket.send(huge)
    error = await socket.until_type("error")
    await socket.send({"type": "ping"})

    assert error["code"] == "too_long"
    assert (await socket.until_type("pong"))["type"] == "pong"
    await socket.close()


# Past what the id columns hold (BigAutoField, SQLite INTEGER): the database cannot even be
# asked, so these are answered as unknown before any query.
OUT_OF_RANGE_IDS = [2**63, -(2**63) - 1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("big", OUT_OF_RANGE_IDS)
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"type": "conversation.open", "conversation_id": %d}', "not_found"),
        ('{"type": "turn.stop", "conversation_id": %d}', "not_found"),
        ('{"type": "message.regenerate", "conversation_id": %d}', "not_found"),
        ('{"type": "message.send", "conversation_id": %d, "text": "x"}', "not_found"),
        (
            '{"type": "message.send", "conversation_id": null, "assistant_id": %d, "text": "x"}',
            "not_found",
        ),
        (
            '{"type": "message.edit", "conversation_id": %d, "message_id": 1, "text": "x"}',
            "not_found",
        ),
        (
            '{"type": "message.edit", "conversation_id": {conversation}, "message_id": %d, '
            '"text": "x"}',
            "not_found",
        ),
        (
            '{"type": "message.send", "conversation_id": {conversation}, "text": "x", '
            '"attachments": [%d]}',
            "bad_attachment",
        ),
        (
            '{"type": "message.send", "conversation_id": null, "assistant_id": {assistant}, '
            '"text": "", "attachments": [{upload}, %d]}',
            "bad_attachment",
        ),
    ],
)
async def test_an_id_out_of_range_is_unknown_and_the_socket_stays_open(frame, code, big):
    user, cookie = await signed_in()
    assistant = await local_assistant()
    conversation = await Conversation.objects.acreate(owner=user, assistant=assistant)
    upload = await Upload.objects.acreate(owner=user, name="a.txt", size=1)
    socket = await connected(cookie)
    text = (
        frame.replace("{conversation}", str(conversation.pk))
        .replace("{assistant}", str(assistant.pk))
        .replace("{upload}", str(upload.pk))
    ) % big

    await socket.send(text)
    error = await socket.until_type("error")
    await socket.send({"type": "ping"})

    assert error["code"] == code and error["message"]
    assert "conversation_id" not in error or error["conversation_id"] == conversation.pk
    assert (await socket.until_type("pong"))["type"] == "pong"
    assert await Message.objects.acount() == 0
    assert not await Upload.objects.filter(message__isnull=False).aexists()
    await socket.close()


@pytest.mark.django_db
@pytest.mark.parametrize("big", [2**63, 10**30])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/c/{id}/"),
        ("post", "/api/conversations/{id}/rename"),
        ("post", "/api/conversations/{id}/pin"),
        ("post", "/api/conversations/{id}/delete"),
        ("delete", "/api/uploads/{id}/"),
        ("get", "/files/{id}/"),
        ("get", "/files/knowledge/{id}/"),
        ("get", "/outputs/{id}/"),
    ],
)
def test_an_http_view_answers_404_to_an_id_out_of_range(alice, method, path, big):
    alice.is_staff = True  # the knowledge file view is staff only
    alice.save()
    browser = Client(raise_request_exception=False)
    browser.force_login(alice)

    response = getattr(browser, method)(path.format(id=big), {"title": "t", "pinned": "true"})

    assert response.status_code == 404


@pytest.mark.django_db
def test_a_sidebar_cursor_with_an_id_out_of_range_is_invalid(alice):
    browser = Client(raise_request_exception=False)
    browser.force_login(alice)
    cursor = base64.urlsafe_b64encode(f"2026-11-25T14:02:11+00:00|{2**63}".encode()).decode()

    response = browser.get(reverse("chat:api_conversations"), {"cursor": cursor})

    assert response.status_code == 400 and response.json()["error"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "ping", "x": ' + "[" * 1100 + "]" * 1100 + "}",
        '{"type": "ping", "x": ' + '{"a": ' * 1100 + "1" + "}" * 1100 + "}",
        '{"type": ' + "[" * 900 + "]" * 900 + "}",
        '{"type": {"nested": "dict"}}',
    ],
    ids=["list-1100-deep", "object-1100-deep", "type-900-deep", "type-object"],
)
async def test_a_deeply_nested_frame_is_refused_and_the_socket_stays_open(frame):
    _, cookie = await signed_in()
    socket = await connected(cookie)

    await socket.send(frame)
    error = await socket.until_type("error")
    await socket.send({"type": "ping"})

    assert error["code"] in {"bad_frame", "unknown_type"} and len(error["message"]) < 200
    assert (await socket.until_type("pong"))["type"] == "pong"
    await socket.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_provider_url")
async def test_a_lone_surrogate_in_a_broken_paste_is_saved_as_a_replacement_character():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    # What a browser's JSON.stringify sends for a string cut inside an emoji.
    frame = (
        '{"type": "message.send", "conversation_id": null, "assistant_id": ASSISTANT, '
        '"text": "bad \\ud800 x \\ud83d\\ude00 \\udc00", "client_message_id": "c-\\udfff"}'
    ).replace("ASSISTANT", str(assistant.pk))

    await socket.send(frame)
    created = await socket.until_type("conversation.created")
    mine = await socket.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "user"
    )
    await socket.until_type("message.done")

    assert mine["message"]["content"] == "bad \ufffd x \U0001f600 \ufffd"
    assert mine["client_message_id"] == "c-\ufffd"
    assert created["conversation"]["title"] == "bad \ufffd x \U0001f600 \ufffd"
    saved = await Message.objects.filter(role="user").aget()
    assert saved.content == "bad \ufffd x \U0001f600 \ufffd"
    await socket.send({"type": "ping"})
    assert (await socket.until_type("pong"))["type"] == "pong"
    await socket.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_provider_url")
@pytest.mark.parametrize(
    "character", ["é", "\x1b", "\U0001f600"], ids=["accent", "control", "emoji-pair"]
)
async def test_a_message_at_the_limit_fits_in_a_frame_however_it_is_escaped(character):
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    text = character * settings.CHAT_MAX_MESSAGE_CHARS
    # ensure_ascii: every character as \uXXXX, an emoji as two (a surrogate pair).
    frame = json.dumps(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": text,
            "client_message_id": "c" * 100,
        }
    )

    await socket.send(frame)
    mine = await socket.receive_until(
        lambda f: (
            f["type"] in {"error", "message.created"}
            and (f["type"] == "error" or f["message"]["role"] == "user")
        )
    )
    await socket.until_type("message.done", timeout=60)

    assert mine["type"] == "message.created", mine
    assert mine["message"]["content"] == text
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_message_over_the_limit_is_too_long_however_it_is_escaped():
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    _, cookie = await signed_in()
    socket = await connected(cookie)
    frame = json.dumps({"type": "message.send", "assistant_id": 1, "text": "é" * (limit + 1)})

    await socket.send(frame)
    error = await socket.until_type("error")

    assert error["code"] == "too_long" and f"{limit:,}" in error["message"]
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_frame_of_a_megabyte_gets_too_long_and_the_socket_stays_open():
    _, cookie = await signed_in()
    socket = await connected(cookie)

    await socket.send('{"type": "ping", "pad": "' + "x" * (1024 * 1024 + 1) + '"}')
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
