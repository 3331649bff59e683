import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from chat.models import Assistant, Conversation, Message, OutputFile, Upload
from tests.chat import connections

PASSWORD = "pw-for-tests-123"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_user(name: str):
    return get_user_model().objects.create_user(name, password=PASSWORD)


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def conversation(alice):
    """Alice's conversation with an attachment, a cited reply, a code step and a plot."""
    assistant = Assistant.objects.create(
        name="Analyst", connection=connections.connection("local"), model="local-echo-1"
    )
    conversation = Conversation.objects.create(
        owner=alice, assistant=assistant, title="Travel policy: what's covered?"
    )
    question = Message.objects.create(
        conversation=conversation, role="user", content="What does the policy cover?"
    )
    upload = Upload.objects.create(
        owner=alice,
        conversation=conversation,
        message=question,
        name="policy.md",
        content_type="text/markdown",
        size=27,
        file=ContentFile(b"# Travel\nTrains are covered.", name="policy.md"),
    )
    reply = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Trains are covered [1].\n\n```python\nprint(1)\n```",
        tool_steps=[
            {
                "id": "ci_1",
                "type": "code_interpreter",
                "name": "code_interpreter",
                "arguments": "",
                "output": "42\n",
                "details": {"code": "print(6 * 7)", "logs": "42\n", "status": "completed"},
            },
            {
                "id": "call_1",
                "type": "function",
                "name": "calculator",
                "arguments": '{"expression": "2+2"}',
                "output": "4",
            },
        ],
        citations=[
            {
                "number": 1,
                "file_id": upload.site_file_id,
                "filename": "policy.md",
                "quote": "Trains are covered.",
            }
        ],
    )
    OutputFile.objects.create(
        conversation=conversation,
        message=reply,
        name="plot.png",
        content_type="image/png",
        size=8,
        file=ContentFile(b"\x89PNG\r\n\x1a\n", name="plot.png"),
    )
    return conversation
