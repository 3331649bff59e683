"""Export: the owner downloads a conversation as Markdown or JSON, with its messages, tool
steps, citations and file names; anyone else gets the 404 of a conversation that does not
exist."""

import json

import pytest
from django.test import Client

from chat.models import Conversation, Message
from tests.sharing.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_markdown_export_reads_like_the_conversation(alice, conversation):
    response = client_for(alice).get(f"/c/{conversation.pk}/export.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="travel-policy-whats-covered.md"'
    )
    text = response.content.decode()
    assert text.startswith("# Travel policy: what's covered?\n")
    assert "Assistant: Analyst" in text
    assert "## You · " in text and "What does the policy cover?" in text
    assert "Attached: policy.md" in text
    assert "## Analyst · " in text and "Trains are covered [1]." in text
    # The reply's own code block, the code step's code and output, the function call.
    assert "```python\nprint(1)\n```" in text
    assert "**Code run**" in text and "print(6 * 7)" in text and "42" in text
    assert "**Tool `calculator`**" in text and '"expression": "2+2"' in text
    assert "Sources:\n\n1. policy.md\n\n> Trains are covered." in text
    assert "Files: plot.png" in text


def test_the_json_export_holds_everything_a_program_needs(alice, conversation):
    response = client_for(alice).get(f"/c/{conversation.pk}/export.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="travel-policy-whats-covered.json"' in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["version"] == 1
    assert document["conversation"]["title"] == "Travel policy: what's covered?"
    assert document["conversation"]["assistant"] == "Analyst"
    question, reply = document["messages"]
    assert question["role"] == "user"
    assert question["attachments"] == [
        {"name": "policy.md", "size": 27, "content_type": "text/markdown"}
    ]
    assert reply["role"] == "assistant" and reply["status"] == "complete"
    assert [s["name"] for s in reply["tool_steps"]] == ["code_interpreter", "calculator"]
    assert reply["citations"] == [
        {"number": 1, "filename": "policy.md", "quote": "Trains are covered."}
    ]
    assert reply["files"] == [{"name": "plot.png", "size": 8, "content_type": "image/png"}]


def test_an_untitled_conversation_is_named_by_its_id(alice, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(title="")
    response = client_for(alice).get(f"/c/{conversation.pk}/export.md")
    assert f'filename="conversation-{conversation.pk}.md"' in response["Content-Disposition"]
    assert response.content.decode().startswith("# Conversation\n")


def test_a_fence_in_a_tool_output_cannot_close_the_exports_code_block(alice, conversation):
    reply = conversation.messages.get(role="assistant")
    reply.tool_steps = [
        {"id": "c", "type": "function", "name": "f", "output": "```\n# not a heading"}
    ]
    reply.save()
    text = client_for(alice).get(f"/c/{conversation.pk}/export.md").content.decode()
    assert "````\n```\n# not a heading\n````" in text


def test_a_reply_still_being_written_is_not_exported(alice, conversation):
    Message.objects.create(conversation=conversation, role="user", content="And planes?")
    Message.objects.create(conversation=conversation, role="assistant", status="streaming")
    document = json.loads(client_for(alice).get(f"/c/{conversation.pk}/export.json").content)
    assert [m["role"] for m in document["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize("extension", ["md", "json"])
def test_someone_elses_or_an_unknown_conversation_is_a_404(bob, conversation, extension):
    client = client_for(bob)
    assert client.get(f"/c/{conversation.pk}/export.{extension}").status_code == 404
    assert client.get(f"/c/{conversation.pk + 1000}/export.{extension}").status_code == 404
    assert client.get(f"/c/{2**63}/export.{extension}").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(conversation):
    response = Client().get(f"/c/{conversation.pk}/export.md")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
