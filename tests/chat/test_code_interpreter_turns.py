"""The code interpreter end to end, in both protocols: the chat socket -> turn runner ->
agent -> the local provider's sandbox, which runs the first fenced Python block of the
message. The code and its output become a tool step; a plot becomes an output file of the
reply, copied to the site; a sandbox limit ends in a reply that says so; a provider with
the tool switched off is a readable error."""

import asyncio
import time

import openai
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.agents import client_for
from chat.models import Assistant, Message, OutputFile, RemoteCleanup
from chat.services.uploads import upload_create
from tests.chat.connections import seed_connection
from tests.chat.wsclient import ChatSocket, make_user, session_cookie_for
from tests.provider_server import SiteServer

pytestmark = [pytest.mark.django_db(transaction=True)]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOT_MESSAGE = """Please run this:

```python
import matplotlib.pyplot as plt
print("sum:", sum(range(10)))
plt.plot([1, 2, 3], [1, 4, 9])
plt.show()
```
"""
LOOP_MESSAGE = "```python\nwhile True:\n    pass\n```"


@pytest.fixture(params=["assistants", "responses"])
def protocol(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def no_code_server(tmp_path_factory):
    """A site whose local provider has the code interpreter switched off (as production
    settings do unless it is enabled)."""
    server = SiteServer(
        tmp_path_factory.mktemp("no-code-site"),
        extra_env={"LOCAL_PROVIDER_CODE_INTERPRETER": "false"},
    ).start()
    yield server
    server.stop()


@sync_to_async
def signed_in(username: str = "coder"):
    return session_cookie_for(make_user(username))


@sync_to_async
def signed_in_with_file(username: str, name: str, data: bytes):
    user = make_user(username)
    upload = upload_create(user=user, file=SimpleUploadedFile(name, data, "text/csv"))
    return session_cookie_for(user), upload.pk


@sync_to_async
def files_of(reply_id: int) -> list[tuple[OutputFile, bytes]]:
    rows = list(OutputFile.objects.filter(message_id=reply_id))
    return [(row, row.file.open("rb").read()) for row in rows]


async def coder(protocol: str) -> Assistant:
    return await Assistant.objects.acreate(
        name="Coder",
        model=settings.LOCAL_PROVIDER_MODEL,
        protocol=protocol,
        code_interpreter=True,
    )


async def send(socket: ChatSocket, text: str, *, assistant=None, conversation_id=None) -> dict:
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": conversation_id,
            "assistant_id": assistant.pk if assistant else None,
            "text": text,
        }
    )
    return (await socket.until_type("message.done", timeout=90))["message"]


@pytest.mark.usefixtures("local_provider_url")
async def test_code_runs_with_its_output_shown_and_its_plot_kept_with_the_reply(protocol):
    socket = ChatSocket(await signed_in())
    assert await socket.connect()

    done = await send(socket, PLOT_MESSAGE, assistant=await coder(protocol))

    reply = await Message.objects.aget(pk=done["id"])
    assert reply.status == "complete", reply.error
    [step] = [s for s in reply.tool_steps if s["type"] == "code_interpreter"]
    assert 'print("sum:", sum(range(10)))' in step["details"]["code"]
    assert "sum: 45" in step["details"]["logs"]
    assert step["details"]["status"] == "completed"
    images = [(row, data) for row, data in await files_of(reply.pk) if row.is_image]
    assert images, "the plot was not kept"
    output, data = images[0]
    assert data.startswith(PNG_MAGIC)
    assert (output.content_type, output.size) == ("image/png", len(data))
    assert output.conversation_id == reply.conversation_id
    assert output.pk in step["details"]["files"]
    file_frames = [f for f in socket.frames if f["type"] == "message.file"]
    shown = next(f["file"] for f in file_frames if f["file"]["id"] == output.pk)
    assert shown["is_image"] and shown["name"] == output.name
    assert shown["url"].endswith(f"/outputs/{output.pk}/")
    kinds = [f["type"] for f in socket.frames]
    assert kinds.index("message.file") < kinds.index("message.done")
    # The end of the reply lists its files too: the browser redraws the reply from it.
    assert output.pk in [f["id"] for f in done["files"]]
    # The Responses API's container held the files; the site has its copies, so it is gone
    # (nothing left to retry). The runner deletes it once the reply is done, so the test
    # gives it a moment.
    if protocol == "responses":
        container_id = step["details"]["container_id"]
        assert output.remote_container_id == container_id
        assert await container_gone(container_id)
    assert not await RemoteCleanup.objects.filter(kind="container").aexists()
    await socket.close()


async def container_gone(container_id: str, *, within: float = 10.0) -> bool:
    client = client_for(seed_connection("local"))
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            await client.containers.retrieve(container_id)
        except openai.NotFoundError:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.usefixtures("local_provider_url")
async def test_an_endless_loop_is_stopped_and_the_conversation_goes_on(protocol):
    socket = ChatSocket(await signed_in())
    assert await socket.connect()

    stopped = await send(socket, LOOP_MESSAGE, assistant=await coder(protocol))
    after = await send(socket, "Hello again", conversation_id=stopped["conversation_id"])

    reply = await Message.objects.aget(pk=stopped["id"])
    assert reply.status in ("complete", "failed")
    [step] = [s for s in reply.tool_steps if s["type"] == "code_interpreter"]
    assert "time limit" in step["details"]["logs"]
    assert "time limit" in reply.content + reply.error
    assert after["status"] == "complete"
    assert "Hello again" in after["content"]
    await socket.close()


async def test_a_provider_without_the_code_interpreter_says_so(protocol, no_code_server, settings):
    settings.LOCAL_PROVIDER_BASE_URL = f"{no_code_server.base_url}/local/v1"
    socket = ChatSocket(await signed_in())
    assert await socket.connect()

    done = await send(socket, PLOT_MESSAGE, assistant=await coder(protocol))

    assert done["status"] == "failed"
    assert done["error"].startswith("This provider does not support the code_interpreter tool")
    error = await socket.until_type("error")
    assert error["code"] == "provider_error"
    await socket.close()


@pytest.mark.usefixtures("local_provider_url")
async def test_the_code_reads_the_file_attached_to_the_message(protocol):
    cookie, upload_id = await signed_in_with_file("analyst", "numbers.csv", b"1\n2\n3\n")
    socket = ChatSocket(cookie)
    assert await socket.connect()

    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": (await coder(protocol)).pk,
            "text": "```python\nprint('total', sum(int(x) for x in open('numbers.csv')))\n```",
            "attachments": [upload_id],
        }
    )
    done = (await socket.until_type("message.done", timeout=90))["message"]

    assert done["status"] == "complete", done["error"]
    [step] = [s for s in done["tool_steps"] if s["type"] == "code_interpreter"]
    assert "total 6" in step["details"]["logs"]
    await socket.close()
