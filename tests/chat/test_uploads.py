"""Attaching files over HTTP: limits and bad files, removal, and who may download what."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from chat.models import Assistant, Conversation, KnowledgeFile, Message, OutputFile, Upload

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 40


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob", password=PASSWORD)


def signed_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice):
    return signed_in(alice)


def upload(client, name="notes.txt", data=b"Lisbon is the capital of Portugal.\n", **extra):
    return client.post(
        reverse("chat:api_uploads"), {"file": SimpleUploadedFile(name, data)}, **extra
    )


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


# --- Uploading ---------------------------------------------------------------------------


def test_an_upload_is_stored_and_described(alice_client, alice, media_root):
    response = upload(alice_client)

    assert response.status_code == 201
    body = response.json()["upload"]
    saved = Upload.objects.get()
    assert body == {
        "id": saved.pk,
        "name": "notes.txt",
        "size": 35,
        "content_type": "text/plain",
        "url": reverse("chat:upload_file", args=[saved.pk]),
    }
    assert (saved.owner, saved.conversation, saved.message) == (alice, None, None)
    # Stored under MEDIA_ROOT under a random name, never the user's.
    (path,) = stored_files(media_root)
    assert path.read_bytes() == b"Lisbon is the capital of Portugal.\n"
    assert "notes" not in path.name


def test_the_content_type_comes_from_the_name_and_bytes_not_the_browser(alice_client):
    file = SimpleUploadedFile("photo.png", PNG, content_type="text/html")

    response = alice_client.post(reverse("chat:api_uploads"), {"file": file})

    assert response.status_code == 201
    assert response.json()["upload"]["content_type"] == "image/png"


def test_a_file_over_the_size_limit_is_refused(alice_client, settings, media_root):
    settings.CHAT_UPLOAD_MAX_BYTES = 1000

    response = upload(alice_client, data=b"x" * 1001)

    assert response.status_code == 413
    assert response.json() == {
        "error": "This file is too large: the limit is 1,000 bytes.",
        "code": "file_too_large",
    }
    assert not Upload.objects.exists()
    assert stored_files(media_root) == []


def test_a_body_far_over_the_limit_is_refused_by_its_content_length(alice_client, settings):
    settings.CHAT_UPLOAD_MAX_BYTES = 1000

    response = upload(alice_client, data=b"x" * 200_000)

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("tool.exe", b"MZ\x90\0\x03\0\0\0", "cannot be attached"),
        ("script.sh", b"#!/bin/sh\necho hi\n", "cannot be attached"),
        ("noextension", b"hello", "cannot be attached"),
        # Executable bytes under an accepted name.
        ("innocent.txt", b"\x7fELF\x02\x01\x01\0\0\0\0\0", "Executable files"),
        ("fake.png", b"just text, not an image", "not a valid .png file"),
        ("report.pdf", b"hello", "not a valid .pdf file"),
        ("data.csv", b"a,b\n\0\0\0binary", "not text"),
    ],
)
def test_files_of_the_wrong_type_are_refused(alice_client, name, data, message):
    response = upload(alice_client, name=name, data=data)

    assert response.status_code == 400
    assert response.json()["code"] == "file_type"
    assert message in response.json()["error"]
    assert not Upload.objects.exists()


def test_an_empty_file_is_refused(alice_client):
    response = upload(alice_client, data=b"")

    assert response.status_code == 400
    assert response.json() == {"error": "“notes.txt” is empty.", "code": "empty_file"}


def test_a_request_without_a_file_is_refused(alice_client):
    response = alice_client.post(reverse("chat:api_uploads"), {"other": "x"})

    assert response.status_code == 400
    assert response.json() == {"error": "Choose a file to attach.", "code": "no_file"}


def test_too_many_unsent_files_are_refused(alice_client, settings):
    settings.CHAT_MAX_ATTACHMENTS = 1  # five unsent files at most

    statuses = [upload(alice_client).status_code for _ in range(6)]

    assert statuses == [201] * 5 + [400]
    assert Upload.objects.count() == 5


def test_anonymous_uploads_get_401(client):
    response = upload(client)

    assert response.status_code == 401
    assert response.json() == {"error": "Sign in to continue."}
    assert not Upload.objects.exists()


def test_uploads_need_the_csrf_token(alice):
    client = signed_in(alice, enforce_csrf_checks=True)
    client.get(reverse("chat:index"))  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value

    refused = upload(client)
    accepted = upload(client, headers={"X-CSRFToken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 201
    assert Upload.objects.count() == 1


def test_uploading_is_post_only(alice_client):
    assert alice_client.get(reverse("chat:api_uploads")).status_code == 405


# --- Removing an unsent upload ------------------------------------------------------------


def test_an_unsent_upload_can_be_removed_with_its_bytes(
    alice_client, media_root, django_capture_on_commit_callbacks
):
    upload_id = upload(alice_client).json()["upload"]["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(reverse("chat:api_upload", args=[upload_id]))

    assert response.status_code == 200
    assert not Upload.objects.exists()
    assert stored_files(media_root) == []


def test_removing_someone_elses_or_a_sent_upload_is_404(alice_client, alice, bob):
    bobs = Upload.objects.create(
        owner=bob, name="b.txt", content_type="text/plain", size=1, file="uploads/b"
    )
    conversation = Conversation.objects.create(owner=alice)
    message = Message.objects.create(conversation=conversation, role="user", content="hi")
    sent = Upload.objects.create(
        owner=alice,
        name="a.txt",
        content_type="text/plain",
        size=1,
        file="uploads/a",
        conversation=conversation,
        message=message,
    )

    for pk in (bobs.pk, sent.pk, 999_999):
        response = alice_client.delete(reverse("chat:api_upload", args=[pk]))
        assert response.status_code == 404
    assert Upload.objects.count() == 2


def test_unsent_uploads_older_than_a_day_are_swept(
    alice, media_root, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    old = Upload(owner=alice, name="old.txt", content_type="text/plain", size=3)
    old.file.save("old.txt", ContentFile(b"old"), save=False)
    old.created_at = timezone.now() - timedelta(hours=settings.CHAT_UNSENT_UPLOAD_HOURS + 1)
    old.save()
    fresh = Upload(owner=alice, name="new.txt", content_type="text/plain", size=3)
    fresh.file.save("new.txt", ContentFile(b"new"), save=False)
    fresh.save()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("retry_remote_cleanup")

    assert list(Upload.objects.all()) == [fresh]
    assert [p.read_bytes() for p in stored_files(media_root)] == [b"new"]


# --- Downloading --------------------------------------------------------------------------


def test_the_owner_downloads_an_upload_as_an_attachment(alice_client):
    upload_id = upload(alice_client, name="notes.txt").json()["upload"]["id"]

    response = alice_client.get(reverse("chat:upload_file", args=[upload_id]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Lisbon is the capital of Portugal.\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_images_are_shown_inline_but_never_svg(alice_client, settings):
    settings.CHAT_UPLOAD_EXTENSIONS = [*settings.CHAT_UPLOAD_EXTENSIONS, "svg"]
    png_id = upload(alice_client, name="plot.png", data=PNG).json()["upload"]["id"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    svg_id = upload(alice_client, name="logo.svg", data=svg).json()["upload"]["id"]

    png = alice_client.get(reverse("chat:upload_file", args=[png_id]))
    svg_response = alice_client.get(reverse("chat:upload_file", args=[svg_id]))

    assert png["Content-Disposition"] == 'inline; filename="plot.png"'
    assert png["Content-Type"] == "image/png"
    assert svg_response["Content-Disposition"].startswith("attachment;")
    assert svg_response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_another_user_gets_404_for_an_upload(alice_client, bob):
    upload_id = upload(alice_client).json()["upload"]["id"]

    response = signed_in(bob).get(reverse("chat:upload_file", args=[upload_id]))

    assert response.status_code == 404


def test_anonymous_downloads_go_to_the_login_page(alice_client, client):
    upload_id = upload(alice_client).json()["upload"]["id"]
    url = reverse("chat:upload_file", args=[upload_id])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def output_of(owner) -> OutputFile:
    conversation = Conversation.objects.create(owner=owner)
    message = Message.objects.create(conversation=conversation, role="assistant", content="x")
    output = OutputFile(
        conversation=conversation, message=message, name="plot.png", content_type="image/png"
    )
    output.size = len(PNG)
    output.file.save("plot.png", ContentFile(PNG), save=False)
    output.save()
    return output


def test_code_output_files_download_for_the_conversations_owner_only(alice, bob, client):
    output = output_of(alice)
    url = reverse("chat:output_file", args=[output.pk])

    mine = signed_in(alice).get(url)
    theirs = signed_in(bob).get(url)
    anonymous = client.get(url)

    assert mine.status_code == 200
    assert b"".join(mine.streaming_content) == PNG
    assert mine["Content-Disposition"] == 'inline; filename="plot.png"'
    assert mine["X-Content-Type-Options"] == "nosniff"
    assert theirs.status_code == 404
    assert anonymous.status_code == 302


def test_knowledge_files_download_for_staff_only(alice, admin_client):
    assistant = Assistant.objects.create(name="Helper")
    knowledge = KnowledgeFile(assistant=assistant, name="faq.md", content_type="text/markdown")
    knowledge.size = 5
    knowledge.file.save("faq.md", ContentFile(b"# FAQ"), save=False)
    knowledge.save()
    url = reverse("chat:knowledge_file", args=[knowledge.pk])

    assert admin_client.get(url).status_code == 200
    assert signed_in(alice).get(url).status_code == 404


def test_deleting_records_removes_their_bytes(
    alice, media_root, django_capture_on_commit_callbacks
):
    output = output_of(alice)
    assert stored_files(media_root)

    with django_capture_on_commit_callbacks(execute=True):
        output.conversation.delete()  # cascades to the message and its output file

    assert stored_files(media_root) == []
