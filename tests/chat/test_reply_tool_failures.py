"""What the turn runner does when the provider tools' files fail it: a file that cannot be
downloaded costs that file, not the reply (which says so); a container that cannot be
deleted is recorded for `retry_remote_cleanup`. A scripted agent stands in for the provider,
since the local one does not fail these calls."""

import asyncio
import time
from types import SimpleNamespace as Obj

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat.agents import ProviderError, ToolResources
from chat.agents.events import (
    AgentResponseItem,
    Completed,
    OutputFile,
    RunStarted,
    TextDelta,
    ToolStep,
)
from chat.agents.threads import ConversationThread
from chat.models import Assistant, Message, RemoteCleanup
from chat.models import OutputFile as OutputFileRow
from chat.services import remote_cleanup, reply_files, turn_runner
from tests.chat.wsclient import ChatSocket, make_user, session_cookie_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]

RUN = ToolStep(
    "ci_1",
    "code_interpreter",
    "",
    "done\n",
    type="code_interpreter",
    details={
        "code": "print('done')",
        "logs": "done\n",
        "status": "completed",
        "container_id": "cntr_1",
    },
)


class ScriptedAgent:
    """Streams one code run that made a file, then a short reply."""

    thread_class = ConversationThread
    provider_tools = True

    def __init__(self):
        self.client = Obj()
        self.definition = Obj(model="scripted-model")

    def thread(self, thread_id=None):
        return ConversationThread(self.client, thread_id or "conv_scripted")

    async def invoke_stream(self, messages, thread=None, *, resources=None):
        for event in (
            RunStarted("resp_1"),
            RUN,
            TextDelta("Here is the plot. "),
            OutputFile("cfile_1", "plot.png", "cntr_1"),
            TextDelta("Done."),
            Completed(),
        ):
            yield AgentResponseItem(event, thread)


class FailingFiles:
    """The provider refuses every file call."""

    def __init__(self, client):
        pass

    async def download(self, *, file_id, container_id=""):
        raise ProviderError("The provider had an internal error (500). Try again.")

    async def delete_container(self, container_id):
        raise ProviderError("The provider had an internal error (500). Try again.")


@pytest.fixture
def scripted_provider(monkeypatch):
    async def nothing(*args, **kwargs):
        return None

    async def no_resources(*, conversation):
        return ToolResources()

    monkeypatch.setattr(turn_runner, "assistant_ensure_remote", nothing)
    monkeypatch.setattr(turn_runner, "assistant_agent", lambda assistant: ScriptedAgent())
    monkeypatch.setattr(turn_runner, "conversation_tool_resources", no_resources)
    monkeypatch.setattr(reply_files, "ProviderFiles", FailingFiles)
    monkeypatch.setattr(remote_cleanup, "ProviderFiles", FailingFiles)


@sync_to_async
def signed_in():
    return session_cookie_for(make_user("plotter"))


async def recorded_cleanup(*, within: float = 10.0, **lookup) -> RemoteCleanup:
    deadline = time.monotonic() + within
    while True:
        try:
            return await RemoteCleanup.objects.aget(**lookup)
        except RemoteCleanup.DoesNotExist:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


@pytest.mark.usefixtures("scripted_provider")
async def test_a_file_that_cannot_be_fetched_is_noted_and_the_reply_completes():
    assistant = await Assistant.objects.acreate(
        name="Coder",
        model=settings.LOCAL_PROVIDER_MODEL,
        protocol="responses",
        code_interpreter=True,
    )
    socket = ChatSocket(await signed_in())
    assert await socket.connect()

    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": "plot",
        }
    )
    done = (await socket.until_type("message.done"))["message"]

    reply = await Message.objects.aget(pk=done["id"])
    assert reply.status == "complete" and reply.error == ""
    assert reply.content == (
        "Here is the plot. \n\n> The file plot.png could not be fetched from the provider: "
        "The provider had an internal error (500). Try again.\n\nDone."
    )
    assert socket.texts[reply.pk] == reply.content
    assert not await OutputFileRow.objects.filter(message=reply).aexists()
    assert not any(f["type"] == "message.file" for f in socket.frames)
    assert reply.tool_steps[0]["details"]["container_id"] == "cntr_1"
    # The container could not be deleted either: recorded for the retry command (the runner
    # deletes it once the reply is done, so the test gives it a moment).
    cleanup = await recorded_cleanup(kind="container", remote_id="cntr_1")
    assert (cleanup.provider, cleanup.protocol) == ("local", "responses")
    assert "internal error" in cleanup.last_error
    await socket.close()
