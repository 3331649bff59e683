"""Share links: the owner makes a read-only snapshot any signed-in user can open; it does
not change when the conversation goes on; the owner revokes it (410 from then on); files
come through it only if the owner allowed downloads."""

import json
import re

import pytest
from django.test import Client

from chat.models import Message, OutputFile, Upload
from sharing.models import ShareLink
from tests.sharing.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def share(client, conversation, *, allow_downloads=False):
    return client.post(
        f"/api/conversations/{conversation.pk}/share",
        {"allow_downloads": allow_downloads},
        content_type="application/json",
    )


def page_data(response) -> dict:
    html = response.content.decode()
    match = re.search(r'<script id="share-data" type="application/json">(.*?)</script>', html)
    return json.loads(match.group(1))


def test_the_owner_shares_and_another_user_reads_the_snapshot(alice, bob, conversation):
    owner = client_for(alice)
    assert owner.get(f"/api/conversations/{conversation.pk}/share").json() == {"share": None}

    response = share(owner, conversation)
    assert response.status_code == 201
    link = response.json()["share"]
    assert link["url"] == f"http://testserver{link['path']}"
    assert link["allow_downloads"] is False and link["messages"] == 2
    assert owner.get(f"/api/conversations/{conversation.pk}/share").json()["share"] == link

    page = client_for(bob).get(link["path"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Travel policy: what&#x27;s covered?" in html
    assert "Shared by alice" in html and "with Analyst" in html
    data = page_data(page)
    question, reply = data["messages"]
    assert question["content"] == "What does the policy cover?"
    assert reply["content"].startswith("Trains are covered [1].")
    assert reply["tool_steps"][0]["details"]["code"] == "print(6 * 7)"
    # Downloads not allowed: every file shown by name, linked nowhere.
    assert question["attachments"][0]["name"] == "policy.md"
    assert question["attachments"][0]["url"] is None
    assert reply["files"][0]["url"] is None and reply["citations"][0]["url"] is None
    # Nothing of the owner's own URLs leaks into the page.
    assert "/files/" not in json.dumps(data) and "/outputs/" not in json.dumps(data)


def test_the_snapshot_does_not_change_when_the_conversation_goes_on(alice, bob, conversation):
    link = share(client_for(alice), conversation).json()["share"]
    reply = conversation.messages.get(role="assistant")
    reply.content = "Rewritten by a regenerate."
    reply.save()
    Message.objects.create(conversation=conversation, role="user", content="And planes?")
    conversation.title = "Renamed"
    conversation.save()

    page = client_for(bob).get(link["path"])
    assert "Travel policy" in page.content.decode()
    contents = [m["content"] for m in page_data(page)["messages"]]
    assert contents == ["What does the policy cover?", conversation_reply_text()]


def conversation_reply_text():
    return "Trains are covered [1].\n\n```python\nprint(1)\n```"


def test_sharing_again_replaces_the_link_with_a_fresh_snapshot(alice, bob, conversation):
    owner = client_for(alice)
    first = share(owner, conversation).json()["share"]
    Message.objects.create(conversation=conversation, role="user", content="And planes?")
    second = share(owner, conversation).json()["share"]
    assert second["path"] != first["path"] and second["messages"] == 3
    reader = client_for(bob)
    assert reader.get(first["path"]).status_code == 410
    assert reader.get(second["path"]).status_code == 200
    assert ShareLink.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_revoked_link_says_so_and_an_unknown_one_is_a_404(alice, bob, conversation):
    owner = client_for(alice)
    link = share(owner, conversation).json()["share"]
    response = owner.post(f"/api/conversations/{conversation.pk}/share/revoke")
    assert response.json() == {"share": None, "revoked": 1}
    assert owner.get(f"/api/conversations/{conversation.pk}/share").json() == {"share": None}

    gone = client_for(bob).get(link["path"])
    assert gone.status_code == 410
    assert "This link was revoked" in gone.content.decode()
    assert "Trains" not in gone.content.decode()
    unknown = client_for(bob).get("/s/not-a-real-token/")
    assert unknown.status_code == 404
    assert "No such shared conversation" in unknown.content.decode()


def test_files_come_through_the_link_only_when_the_owner_allowed_it(alice, bob, conversation):
    upload = Upload.objects.get(conversation=conversation)
    output = OutputFile.objects.get(conversation=conversation)
    reader = client_for(bob)

    closed = share(client_for(alice), conversation).json()["share"]
    token = closed["path"].split("/")[2]
    assert reader.get(f"/s/{token}/files/upload/{upload.pk}/").status_code == 404

    opened = share(client_for(alice), conversation, allow_downloads=True).json()["share"]
    data = page_data(reader.get(opened["path"]))
    question, reply = data["messages"]
    attachment_url = question["attachments"][0]["url"]
    assert reply["citations"][0]["url"] == attachment_url
    download = reader.get(attachment_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"# Travel\nTrains are covered."
    assert "attachment" in download["Content-Disposition"]
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"
    image = reader.get(reply["files"][0]["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"

    token = opened["path"].split("/")[2]
    # A file of the conversation the snapshot does not name, another user's file, a
    # made-up kind: none of them come through the link.
    later = Upload.objects.create(
        owner=alice,
        conversation=conversation,
        name="later.txt",
        content_type="text/plain",
        size=1,
        file=upload.file.name,
    )
    assert reader.get(f"/s/{token}/files/upload/{later.pk}/").status_code == 404
    assert reader.get(f"/s/{token}/files/output/{output.pk + 100}/").status_code == 404
    assert reader.get(f"/s/{token}/files/knowledge/{upload.pk}/").status_code == 404

    client_for(alice).post(f"/api/conversations/{conversation.pk}/share/revoke")
    assert reader.get(attachment_url).status_code == 404
    assert reader.get(f"/s/{token}/files/output/{output.pk}/").status_code == 404


def test_only_the_owner_shares_or_revokes(alice, bob, conversation):
    other = client_for(bob)
    assert share(other, conversation).status_code == 404
    assert other.get(f"/api/conversations/{conversation.pk}/share").status_code == 404
    link = share(client_for(alice), conversation).json()["share"]
    response = other.post(f"/api/conversations/{conversation.pk}/share/revoke")
    assert response.status_code == 404
    assert other.get(link["path"]).status_code == 200


def test_a_link_is_for_signed_in_users_only(alice, conversation):
    link = share(client_for(alice), conversation).json()["share"]
    response = Client().get(link["path"])
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    api = Client().get(f"/api/conversations/{conversation.pk}/share")
    assert api.status_code == 401


def test_bad_input_gets_a_clear_error(alice, conversation):
    owner = client_for(alice)
    url = f"/api/conversations/{conversation.pk}/share"
    for body in ("{}", '{"allow_downloads": "yes"}', "not json", "[]"):
        response = owner.post(url, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"error": "`allow_downloads` must be true or false."}
    assert owner.post(url, {"allow_downloads": "true"}).status_code == 201  # a form works too

    empty = conversation.__class__.objects.create(owner=alice, title="Empty")
    response = share(owner, empty)
    assert response.status_code == 400 and response.json()["code"] == "nothing_to_share"


def test_sharing_needs_the_csrf_token(alice, conversation):
    client = client_for(alice, enforce_csrf_checks=True)
    assert share(client, conversation).status_code == 403
    assert client.post(f"/api/conversations/{conversation.pk}/share/revoke").status_code == 403


def test_the_share_page_has_the_strict_policy(alice, conversation):
    link = share(client_for(alice), conversation).json()["share"]
    reader = client_for(make_user("carol"))
    for path in (link["path"], "/s/unknown-token/"):
        header = reader.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in header and "style-src 'self'" in header
    client_for(alice).post(f"/api/conversations/{conversation.pk}/share/revoke")
    assert "default-src 'self'" in reader.get(link["path"])["Content-Security-Policy"]


def test_staff_see_share_links_and_can_revoke_them(alice, bob, conversation):
    link = share(client_for(alice), conversation).json()["share"]
    staff = client_for(type(alice).objects.create_superuser("admin", password="pw-123-x"))
    page = staff.get("/admin/sharing/sharelink/")
    assert page.status_code == 200
    assert "Travel policy: what&#x27;s covered?" in page.content.decode()
    share_link = ShareLink.objects.get()
    response = staff.post(
        "/admin/sharing/sharelink/",
        {"action": "revoke", "_selected_action": [share_link.pk]},
        follow=True,
    )
    assert "1 link(s) revoked." in response.content.decode()
    assert client_for(bob).get(link["path"]).status_code == 410
