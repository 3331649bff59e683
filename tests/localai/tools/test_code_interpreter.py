"""The code interpreter end to end through the real SDK, in both protocols, against the
site's local provider in a Daphne subprocess; the raw events validate against the SDK's
models; with LOCAL_PROVIDER_CODE_INTERPRETER off, offering the tool is a clear 400."""

import asyncio
import os
import subprocess
import sys

import openai
import pytest
from openai.types.beta.threads import Message
from openai.types.beta.threads.runs import RunStep
from openai.types.responses import Response

from localai.engine.code_model import CODE_CLOSING_SENTENCE, code_block, code_reply
from tests.localai.sdk import make_client, new_assistant, wait_for_run
from tests.localai.test_contract import (
    CONVERSATION_ITEM,
    MODEL,
    RawAPI,
    strict,
    validate_assistant_events,
    validate_response_events,
)
from tests.provider_server import ROOT, SiteServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOT_MESSAGE = """Please run this:

```python
import matplotlib.pyplot as plt
print("sum:", sum(range(10)))
plt.plot([1, 2, 3], [1, 4, 9])
plt.show()
```
"""
CODE_TOOL = {"type": "code_interpreter"}


@pytest.fixture
async def client(api_url):
    client = make_client(api_url, timeout=60.0)
    yield client
    await client.close()


@pytest.fixture
async def raw(site_server):
    api = RawAPI(
        f"{site_server.base_url}/local/v1",
        headers={"Authorization": "Bearer local-dev-key", "OpenAI-Beta": "assistants=v2"},
    )
    yield api
    await api.close()


def test_the_first_python_or_bare_fenced_block_runs():
    text = "x\n```js\nalert(1)\n```\n```py\nprint(1)\n```\n```\nprint(2)\n```"
    assert code_block(text) == "print(1)"
    assert code_block("```\nprint(2)\n```") == "print(2)"
    assert code_block("```python\n\n```") == ""
    assert code_block("no code here") is None


def test_reply_links_each_file_with_one_token():
    reply = code_reply(
        logs="hi\n", failed=False, files=[type("F", (), {"name": "a b.png", "is_image": True})]
    )
    assert reply.text.endswith(CODE_CLOSING_SENTENCE)
    assert "```\nhi\n```" in reply.text
    (link,) = reply.links
    assert reply.tokens[link.token_index] == "sandbox:/mnt/data/a b.png"
    assert reply.text[link.start_index : link.end_index] == "sandbox:/mnt/data/a b.png"
    assert "[a b.png](sandbox:/mnt/data/a b.png)" in reply.text


# --- Assistants API --------------------------------------------------------------------------


async def test_assistants_run_with_output_and_an_image(client, raw):
    data = await client.files.create(file=("numbers.csv", b"n\n1\n2\n3\n"), purpose="assistants")
    assistant = await new_assistant(
        client,
        tools=[CODE_TOOL],
        tool_resources={"code_interpreter": {"file_ids": [data.id]}},
    )
    text = PLOT_MESSAGE.replace(
        'print("sum:", sum(range(10)))',
        'print("sum:", sum(range(10)))\nprint(open("numbers.csv").read().split())',
    )
    thread = await raw.call("POST", "/threads", {"messages": [{"role": "user", "content": text}]})
    events = validate_assistant_events(
        await raw.events(
            f"/threads/{thread['id']}/runs", {"assistant_id": assistant.id, "stream": True}
        )
    )
    names = [event.event for event in events]
    assert names[-1] == "thread.run.completed"
    assert "thread.run.step.delta" in names

    steps = await client.beta.threads.runs.steps.list(
        thread_id=thread["id"], run_id=events[0].data.id, order="asc"
    )
    tool_step, _message_step = steps.data
    call = tool_step.step_details.tool_calls[0]
    assert call.type == "code_interpreter"
    assert "plt.show()" in call.code_interpreter.input
    logs, image = call.code_interpreter.outputs
    assert "sum: 45" in logs.logs
    assert "['n', '1', '2', '3']" in logs.logs
    content = await client.files.content(image.image.file_id)
    assert content.read().startswith(PNG_MAGIC)
    produced = await client.files.retrieve(image.image.file_id)
    assert produced.purpose == "assistants_output"
    strict(
        RunStep,
        await raw.call(
            "GET", f"/threads/{thread['id']}/runs/{events[0].data.id}/steps/{tool_step.id}"
        ),
    )

    message = (await client.beta.threads.messages.list(thread_id=thread["id"], limit=1)).data[0]
    strict(Message, await raw.call("GET", f"/threads/{thread['id']}/messages/{message.id}"))
    image_block, text_block = message.content
    assert image_block.type == "image_file"
    assert image_block.image_file.file_id == image.image.file_id
    (annotation,) = text_block.text.annotations
    assert annotation.type == "file_path"
    assert annotation.file_path.file_id == image.image.file_id
    value = text_block.text.value
    assert value[annotation.start_index : annotation.end_index] == "sandbox:/mnt/data/figure_1.png"
    assert "sum: 45" in value
    # The streamed deltas carried the same annotation.
    annotated = [
        event
        for event in events
        if event.event == "thread.message.delta"
        and event.data.delta.content[0].type == "text"
        and event.data.delta.content[0].text.annotations
    ]
    assert len(annotated) == 1


async def test_the_sdk_stream_helper_accumulates_the_code_step(client):
    assistant = await new_assistant(client, tools=[CODE_TOOL])
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "```py\nprint('from the helper')\n```"}]
    )
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        inputs = []
        async for event in stream:
            if event.event == "thread.run.step.delta":
                details = event.data.delta.step_details
                if details.tool_calls and details.tool_calls[0].code_interpreter.input:
                    inputs.append(details.tool_calls[0].code_interpreter.input)
        steps = await stream.get_final_run_steps()
        messages = await stream.get_final_messages()
    assert "".join(inputs) == "print('from the helper')"
    call = steps[0].step_details.tool_calls[0]
    assert call.code_interpreter.input == "print('from the helper')"
    assert call.code_interpreter.outputs[0].logs == "from the helper\n"
    assert "```\nfrom the helper\n```" in messages[0].content[0].text.value


async def test_assistants_run_with_a_traceback(client):
    assistant = await new_assistant(client, tools=[CODE_TOOL])
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "```\n1 / 0\n```"}]
    )
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert run.status == "completed"
    steps = await client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
    call = next(step for step in steps.data if step.type == "tool_calls").step_details.tool_calls[0]
    logs = call.code_interpreter.outputs[0].logs
    assert "ZeroDivisionError: division by zero" in logs
    assert "Error: the code stopped with ZeroDivisionError" in logs


# --- Responses API -----------------------------------------------------------------------------


async def test_responses_code_interpreter_call_and_container_files(client, raw):
    data = await client.files.create(file=("greeting.txt", b"hello file"), purpose="user_data")
    text = PLOT_MESSAGE.replace(
        'print("sum:", sum(range(10)))',
        'print("sum:", sum(range(10)))\nprint(open("greeting.txt").read())',
    )
    body = {
        "model": MODEL,
        "input": text,
        "stream": True,
        "tools": [
            {"type": "code_interpreter", "container": {"type": "auto", "file_ids": [data.id]}}
        ],
        "include": ["code_interpreter_call.outputs"],
    }
    events = validate_response_events(await raw.events("/responses", body))
    types = [event.type for event in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
    ]
    for expected in (
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_text.annotation.added",
    ):
        assert expected in types
    assert types[-1] == "response.completed"
    response = events[-1].response
    strict(Response, await raw.call("GET", f"/responses/{response.id}"))
    call, message = response.output
    assert call.type == "code_interpreter_call"
    assert call.status == "completed"
    assert "plt.show()" in call.code
    assert "sum: 45" in call.outputs[0].logs
    assert "hello file" in call.outputs[0].logs
    part = message.content[0]
    (annotation,) = part.annotations
    assert annotation.type == "container_file_citation"
    assert annotation.container_id == call.container_id
    assert annotation.filename == "figure_1.png"
    assert part.text[annotation.start_index : annotation.end_index] == (
        "sandbox:/mnt/data/figure_1.png"
    )
    content = await client.containers.files.content.retrieve(
        annotation.file_id, container_id=call.container_id
    )
    assert content.read().startswith(PNG_MAGIC)
    items = await raw.call("GET", f"/responses/{response.id}")
    for item in items["output"]:
        CONVERSATION_ITEM.validate_python(item, strict=True)
    listed = await client.containers.files.list(container_id=call.container_id)
    paths = {file.path: file.source for file in listed.data}
    assert paths == {"/mnt/data/greeting.txt": "user", "/mnt/data/figure_1.png": "assistant"}


async def test_responses_outputs_only_with_the_include(client):
    container = await client.containers.create(name="scratch")
    response = await client.responses.create(
        model=MODEL,
        input="```python\nprint(6 * 7)\nopen('answer.txt', 'w').write('42')\n```",
        tools=[{"type": "code_interpreter", "container": container.id}],
    )
    call = response.output[0]
    assert call.container_id == container.id
    assert call.outputs is None
    assert "42" in response.output_text
    files = await client.containers.files.list(container_id=container.id)
    assert [file.path for file in files.data] == ["/mnt/data/answer.txt"]
    # The container keeps its files for the next call.
    again = await client.responses.create(
        model=MODEL,
        input="```python\nprint(open('answer.txt').read())\n```",
        tools=[{"type": "code_interpreter", "container": container.id}],
        include=["code_interpreter_call.outputs"],
    )
    assert again.output[0].outputs[0].logs.startswith("42")


# --- Switched off ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_code_server(tmp_path_factory):
    server = SiteServer(
        tmp_path_factory.mktemp("no-code-site"),
        extra_env={"LOCAL_PROVIDER_CODE_INTERPRETER": "false"},
    ).start()
    yield server
    server.stop()


async def test_switched_off_code_interpreter_is_a_readable_400(no_code_server):
    client = make_client(f"{no_code_server.base_url}/local/v1")
    with pytest.raises(openai.BadRequestError) as raised:
        await new_assistant(client, tools=[CODE_TOOL])
    error = raised.value.body
    assert raised.value.code == "unsupported_tool"
    assert error["param"] == "tools"
    assert "code_interpreter tool is not enabled" in error["message"]
    with pytest.raises(openai.BadRequestError):
        await client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": []}})
    with pytest.raises(openai.BadRequestError) as raised:
        await client.responses.create(
            model=MODEL,
            input="```\nprint(1)\n```",
            tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        )
    assert raised.value.code == "unsupported_tool"
    assistant = await new_assistant(client)
    with pytest.raises(openai.BadRequestError):
        await client.beta.assistants.update(assistant.id, tools=[CODE_TOOL])
    await client.close()


def _sandbox_pids() -> set[int]:
    """Processes running a sandbox's runner (its path is on their command line)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/stat") as handle:
                zombie = handle.read().split(") ", 1)[1].startswith("Z")
        except OSError:
            continue
        if b"localai-sandbox-" in cmdline and not zombie:
            pids.add(int(entry))
    return pids


async def test_cancelling_a_run_stops_its_code(client):
    assistant = await new_assistant(client, tools=[CODE_TOOL])
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "```\nimport time\ntime.sleep(60)\n```"}]
    )
    run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    # Generous waits: the machine's cores are shared with other test runs.
    for _ in range(300):
        if _sandbox_pids():
            break
        await asyncio.sleep(0.05)
    running = _sandbox_pids()
    assert running, "the code never started"
    await client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    run = await wait_for_run(client, thread.id, run.id, {"cancelled"}, timeout=15)
    steps = await client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
    assert [step.status for step in steps.data] == ["cancelled"]
    for _ in range(200):
        if not running & _sandbox_pids():
            break
        await asyncio.sleep(0.05)
    assert not running & _sandbox_pids()


async def test_a_client_gone_while_it_replies_keeps_the_finished_code_step(client):
    assistant = await new_assistant(client, tools=[CODE_TOOL])
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "[[delay:0.3]]\n```\nprint('done')\n```"}]
    )
    stream = await client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, stream=True
    )
    async for event in stream:
        if event.event == "thread.run.created":
            run_id = event.data.id
        if event.event == "thread.message.delta":
            break  # the reader goes away while the reply is being written
    await stream.close()
    run = await wait_for_run(client, thread.id, run_id, {"cancelled"}, timeout=15)

    steps = await client.beta.threads.runs.steps.list(
        thread_id=thread.id, run_id=run.id, order="asc"
    )
    # The code ran to its end before that: only the reply being written is cancelled.
    assert [(step.type, step.status) for step in steps.data] == [
        ("tool_calls", "completed"),
        ("message_creation", "cancelled"),
    ]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, "False"), ({"LOCAL_PROVIDER_CODE_INTERPRETER": "true"}, "True")],
)
def test_production_settings_switch_it_off_unless_enabled(environment, expected, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "LOCAL_PROVIDER_CODE_INTERPRETER"},
        "DJANGO_SETTINGS_MODULE": "assistants_site.settings.production",
        "DJANGO_SECRET_KEY": "x" * 50,
        "VAR_DIR": str(tmp_path),
        **environment,
    }
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.LOCAL_PROVIDER_CODE_INTERPRETER)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert printed == expected
