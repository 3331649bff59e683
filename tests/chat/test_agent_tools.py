"""The provider tools (file_search, code_interpreter) in the agent layer, against scripted
streams built from the SDK's own types: how each protocol's steps, items, annotations and
files become ToolSteps, numbered Citations, `[n]` markers and OutputFiles; what the
requests carry; and how a provider without a tool is reported."""

from types import SimpleNamespace as Obj

import httpx2
import openai
import pytest
from openai._models import construct_type
from openai.types.beta import Assistant as RemoteAssistant
from openai.types.beta.threads import MessageDeltaEvent
from openai.types.beta.threads.runs import RunStep
from openai.types.responses import ResponseStreamEvent

from chat.agents import AssistantDefinition, ToolResources, agent_class
from chat.agents.assistants import FILE_SEARCH_INCLUDE, _definition_from
from chat.agents.errors import provider_error_from
from chat.agents.events import Citation, Completed, OutputFile, TextDelta, ToolStep
from chat.agents.provider_tools import ReplySources

DOC_PASSAGE = "The heron nests in the tall reeds of the northern marsh."
DOC_CHUNK = f"Birds of the lake. {DOC_PASSAGE} It feeds at dawn."
NOTES_CHUNK = "Meeting notes: the budget for the marsh survey is 4000 euros."


class Stream:
    def __init__(self, events):
        self.events = events

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        for event in self.events:
            yield event

    async def close(self):
        pass


def definition(**overrides) -> AssistantDefinition:
    fields = {"name": "Librarian", "model": "m", "remote_id": "asst_1"}
    return AssistantDefinition(**{**fields, **overrides})


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- Definitions --------------------------------------------------------------------------


def test_the_provider_tools_are_offered_in_each_protocols_shape():
    plain = definition(function_tools=("calculator",))
    both = definition(
        function_tools=("calculator",),
        file_search=True,
        code_interpreter=True,
        knowledge_vector_store_id="vs_knowledge",
        # A copy in `tools` (an imported definition) is not offered twice.
        tools=[{"type": "file_search"}],
    )
    resources = ToolResources(vector_store_ids=("vs_conv",), code_file_ids=("file-a",))

    assert [t["type"] for t in plain.assistants_tools()] == ["function"]
    assert plain.assistants_tool_resources() is None
    assert [t["type"] for t in both.assistants_tools()] == [
        "function",
        "file_search",
        "code_interpreter",
    ]
    assert both.assistants_tool_resources() == {
        "file_search": {"vector_store_ids": ["vs_knowledge"]}
    }
    assert both.responses_tools(resources)[1:] == [
        {"type": "file_search", "vector_store_ids": ["vs_knowledge", "vs_conv"]},
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-a"]}},
    ]


def test_file_search_is_left_out_of_a_response_while_no_store_is_known():
    searching = definition(file_search=True)

    assert searching.responses_tools() == []
    assert searching.responses_tools(ToolResources(vector_store_ids=("vs_1",))) == [
        {"type": "file_search", "vector_store_ids": ["vs_1"]}
    ]
    # File search on and no knowledge: an empty list clears a store set before.
    assert searching.assistants_tool_resources() == {"file_search": {"vector_store_ids": []}}


def test_a_remote_assistants_provider_tools_become_the_booleans_again():
    remote = construct_type(
        type_=RemoteAssistant,
        value={
            "id": "asst_9",
            "name": "Imported",
            "model": "m",
            "tools": [{"type": "file_search"}, {"type": "code_interpreter"}],
            "tool_resources": {"file_search": {"vector_store_ids": ["vs_k"]}},
        },
    )

    imported = _definition_from(remote)

    assert (imported.file_search, imported.code_interpreter) == (True, True)
    assert imported.knowledge_vector_store_id == "vs_k"
    assert imported.tools == []


# --- Citations ----------------------------------------------------------------------------


def test_citations_are_numbered_per_reply_and_a_source_cited_again_keeps_its_number():
    sources = ReplySources()
    sources.note_results(
        [
            {"file_id": "f1", "filename": "birds.md", "score": 0.5, "text": "Owls hunt at night."},
            {"file_id": "f1", "filename": "birds.md", "score": 0.4, "text": DOC_CHUNK},
            {"file_id": "f2", "filename": "notes.txt", "score": 0.9, "text": NOTES_CHUNK},
        ]
    )

    sources.add_text(f"{DOC_PASSAGE} ")
    first = sources.cite(file_id="f1")
    sources.add_text(" The survey budget is 4000 euros.")
    second = sources.cite(file_id="f2")
    sources.add_text(" Herons nest in the reeds of the marsh.")
    again = sources.cite(file_id="f1")

    # The quote is the result of the cited file that best matches the passage cited,
    # not merely its highest score.
    assert first == [Citation(1, "f1", "birds.md", DOC_CHUNK), TextDelta("[1]")]
    assert second == [Citation(2, "f2", "notes.txt", NOTES_CHUNK), TextDelta("[2]")]
    assert again == [TextDelta("[1]")]


# --- Assistants API -----------------------------------------------------------------------


def step_event(kind: str, step: dict) -> Obj:
    value = {"id": "step_1", "object": "thread.run.step", "type": "tool_calls", **step}
    return Obj(event=kind, data=construct_type(type_=RunStep, value=value))


def delta_event(*content) -> Obj:
    value = {"id": "msg_1", "object": "thread.message.delta", "delta": {"content": list(content)}}
    return Obj(
        event="thread.message.delta", data=construct_type(type_=MessageDeltaEvent, value=value)
    )


def text_part(value: str, *annotations) -> dict:
    return {"index": 0, "type": "text", "text": {"value": value, "annotations": list(annotations)}}


class ScriptedRuns:
    def __init__(self, events):
        self.events = events
        self.requests = []

    async def create(self, **request):
        self.requests.append(request)
        return Stream(self.events)


class Recorder:
    def __init__(self, result=None):
        self.calls = []
        self.result = result

    async def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.result


def assistants_client(events):
    return Obj(
        beta=Obj(
            threads=Obj(
                runs=ScriptedRuns(events),
                messages=Obj(create=Recorder()),
                update=Recorder(),
            )
        ),
        files=Obj(retrieve=Recorder(Obj(filename="plot.png"))),
    )


async def run_assistant(client, resources=None, **overrides):
    agent = agent_class("assistants")(client=client, definition=definition(**overrides))
    thread = agent.thread("thread_1")
    return [
        item.event
        async for item in agent.invoke_stream(
            "Where does the heron nest?", thread, resources=resources
        )
    ]


SEARCH_STEP = {
    "step_details": {
        "type": "tool_calls",
        "tool_calls": [
            {
                "id": "call_fs",
                "type": "file_search",
                "file_search": {
                    "results": [
                        {
                            "file_id": "file-birds",
                            "file_name": "birds.md",
                            "score": 0.8,
                            "content": [{"type": "text", "text": DOC_CHUNK}],
                        }
                    ]
                },
            }
        ],
    }
}
COMPLETED = Obj(event="thread.run.completed", data=Obj(usage=None))


async def test_assistants_file_search_steps_and_citations_are_normalised():
    marker = "【4:0†birds.md】"
    client = assistants_client(
        [
            Obj(event="thread.run.created", data=Obj(id="run_1")),
            step_event("thread.run.step.created", {**SEARCH_STEP, "status": "in_progress"}),
            step_event("thread.run.step.completed", {**SEARCH_STEP, "status": "completed"}),
            delta_event(text_part(f'"{DOC_PASSAGE}" ')),
            delta_event(
                text_part(
                    marker,
                    {
                        "index": 0,
                        "type": "file_citation",
                        "text": marker,
                        "start_index": 60,
                        "end_index": 74,
                        "file_citation": {"file_id": "file-birds"},
                    },
                )
            ),
            delta_event(text_part(" Stray 【9:9†x】 markers go.")),
            COMPLETED,
        ]
    )
    resources = ToolResources(vector_store_ids=("vs_conv",), code_file_ids=("file-x",))

    events = await run_assistant(client, resources, file_search=True)

    [request] = client.beta.threads.runs.requests
    assert request["include"] == FILE_SEARCH_INCLUDE
    # The conversation's store goes on the thread; the code files only with the tool on.
    [(args, kwargs)] = client.beta.threads.update.calls
    assert args == ("thread_1",)
    assert kwargs == {"tool_resources": {"file_search": {"vector_store_ids": ["vs_conv"]}}}
    steps = [e for e in events if isinstance(e, ToolStep)]
    assert [(s.id, s.type, s.name, s.output) for s in steps] == [
        ("call_fs", "file_search", "file_search", None),
        ("call_fs", "file_search", "file_search", "Found 1 passage in birds.md."),
    ]
    assert steps[-1].details["results"] == [
        {"file_id": "file-birds", "filename": "birds.md", "score": 0.8, "text": DOC_CHUNK}
    ]
    citation = next(e for e in events if isinstance(e, Citation))
    assert citation == Citation(1, "file-birds", "birds.md", DOC_CHUNK)
    # The Citation comes before the marker that refers to it.
    assert events.index(citation) < events.index(TextDelta("[1]"))
    assert text_of(events) == f'"{DOC_PASSAGE}" [1] Stray  markers go.'
    assert isinstance(events[-1], Completed)


CODE_STEP = {
    "step_details": {
        "type": "tool_calls",
        "tool_calls": [
            {
                "id": "call_ci",
                "type": "code_interpreter",
                "code_interpreter": {
                    "input": "print(6 * 7)",
                    "outputs": [
                        {"type": "logs", "logs": "42\n"},
                        {"type": "image", "image": {"file_id": "file-img"}},
                    ],
                },
            }
        ],
    }
}


async def test_assistants_code_runs_become_a_step_and_their_files_output_files():
    link = "sandbox:/mnt/data/data.csv"
    client = assistants_client(
        [
            step_event("thread.run.step.completed", {**CODE_STEP, "status": "completed"}),
            delta_event({"index": 0, "type": "image_file", "image_file": {"file_id": "file-img"}}),
            delta_event(
                text_part(
                    f"Saved [data.csv]({link}).",
                    {
                        "index": 0,
                        "type": "file_path",
                        "text": link,
                        "start_index": 17,
                        "end_index": 43,
                        "file_path": {"file_id": "file-csv"},
                    },
                )
            ),
            COMPLETED,
        ]
    )
    resources = ToolResources(vector_store_ids=("vs_conv",), code_file_ids=("file-in",))

    events = await run_assistant(client, resources, code_interpreter=True)

    [request] = client.beta.threads.runs.requests
    assert "include" not in request
    [(_, kwargs)] = client.beta.threads.update.calls
    assert kwargs == {"tool_resources": {"code_interpreter": {"file_ids": ["file-in"]}}}
    [step] = [e for e in events if isinstance(e, ToolStep)]
    assert (step.type, step.output) == ("code_interpreter", "42\n")
    assert step.details == {"code": "print(6 * 7)", "logs": "42\n", "status": "completed"}
    # The image is announced once (by the step), its name asked of the Files API.
    assert [e for e in events if isinstance(e, OutputFile)] == [
        OutputFile("file-img", "plot.png"),
        OutputFile("file-csv", "data.csv"),
    ]
    assert text_of(events) == f"Saved [data.csv]({link})."


# --- Responses API ------------------------------------------------------------------------


def response_event(value: dict):
    return construct_type(type_=ResponseStreamEvent, value=value)


class ScriptedResponses:
    def __init__(self, events):
        self.events = events
        self.requests = []

    async def create(self, **request):
        self.requests.append(request)
        return Stream(self.events)


async def run_response(events, resources=None, **overrides):
    responses = ScriptedResponses(events)
    client = Obj(responses=responses)
    agent = agent_class("responses")(client=client, definition=definition(**overrides))
    thread = agent.thread("conv_1")
    events = [
        item.event
        async for item in agent.invoke_stream(
            "Where does the heron nest?", thread, resources=resources
        )
    ]
    return responses.requests, events


def item_events(item: dict) -> list:
    return [
        response_event({"type": kind, "item": {**item, "status": status}, "output_index": 0})
        for kind, status in (
            ("response.output_item.added", "in_progress"),
            ("response.output_item.done", item["status"]),
        )
    ]


def completed_response() -> object:
    return response_event(
        {
            "type": "response.completed",
            "response": {"id": "resp_1", "status": "completed", "output": [], "usage": None},
        }
    )


def text_delta(text: str):
    return response_event({"type": "response.output_text.delta", "delta": text, "item_id": "msg"})


def annotation_added(annotation: dict):
    return response_event(
        {
            "type": "response.output_text.annotation.added",
            "annotation": annotation,
            "item_id": "msg",
        }
    )


async def test_responses_file_search_items_and_citations_are_normalised():
    search = {
        "id": "fs_1",
        "type": "file_search_call",
        "status": "completed",
        "queries": ["Where does the heron nest?"],
        "results": [
            {"file_id": "file-birds", "filename": "birds.md", "score": 0.8, "text": DOC_CHUNK}
        ],
    }
    citation = {
        "type": "file_citation",
        "file_id": "file-birds",
        "filename": "birds.md",
        "index": 58,
    }
    requests, events = await run_response(
        [
            response_event({"type": "response.created", "response": {"id": "resp_1"}}),
            *item_events(search),
            text_delta(DOC_PASSAGE),
            annotation_added(citation),
            text_delta(" And again."),
            annotation_added(citation),
            completed_response(),
        ],
        ToolResources(vector_store_ids=("vs_conv",)),
        file_search=True,
        knowledge_vector_store_id="vs_k",
    )

    [request] = requests
    assert request["tools"] == [{"type": "file_search", "vector_store_ids": ["vs_k", "vs_conv"]}]
    assert request["include"] == ["file_search_call.results"]
    steps = [e for e in events if isinstance(e, ToolStep)]
    assert [s.output for s in steps] == [None, "Found 1 passage in birds.md."]
    assert steps[-1].details["queries"] == ["Where does the heron nest?"]
    assert [e for e in events if isinstance(e, Citation)] == [
        Citation(1, "file-birds", "birds.md", DOC_CHUNK)
    ]
    assert text_of(events) == f"{DOC_PASSAGE}[1] And again.[1]"


async def test_responses_code_runs_keep_their_container_and_announce_its_files():
    run = {
        "id": "ci_1",
        "type": "code_interpreter_call",
        "status": "completed",
        "code": "print(6 * 7)",
        "container_id": "cntr_1",
        "outputs": [{"type": "logs", "logs": "42\n"}],
    }
    link = "sandbox:/mnt/data/plot.png"
    added, done = item_events(run)
    code_done = response_event(
        {"type": "response.code_interpreter_call_code.done", "item_id": "ci_1", "code": run["code"]}
    )
    requests, events = await run_response(
        [
            added,
            code_done,
            done,
            text_delta(f"![plot]({link})"),
            annotation_added(
                {
                    "type": "container_file_citation",
                    "container_id": "cntr_1",
                    "file_id": "cfile_1",
                    "filename": "plot.png",
                    "start_index": 8,
                    "end_index": 34,
                }
            ),
            completed_response(),
        ],
        ToolResources(code_file_ids=("file-in",)),
        code_interpreter=True,
    )

    [request] = requests
    assert request["tools"] == [
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-in"]}}
    ]
    assert request["include"] == ["code_interpreter_call.outputs"]
    steps = [e for e in events if isinstance(e, ToolStep)]
    # Shown when announced, again with its code while it runs, then with its output.
    assert [(s.details["status"], s.details["code"], s.output) for s in steps] == [
        ("in_progress", "print(6 * 7)", None),
        ("interpreting", "print(6 * 7)", None),
        ("completed", "print(6 * 7)", "42\n"),
    ]
    step = steps[-1]
    assert step.details == {
        "code": "print(6 * 7)",
        "logs": "42\n",
        "status": "completed",
        "container_id": "cntr_1",
    }
    assert [e for e in events if isinstance(e, OutputFile)] == [
        OutputFile("cfile_1", "plot.png", "cntr_1")
    ]
    assert text_of(events) == f"![plot]({link})"


# --- Providers without the tools ----------------------------------------------------------


def status_error(status: int, method: str, path: str, error: dict, sent: dict | None = None):
    request = httpx2.Request(method, f"http://provider.test/v1{path}", json=sent)
    response = httpx2.Response(status, request=request, json={"error": error})
    cls = openai.BadRequestError if status == 400 else openai.NotFoundError
    return cls(error["message"], response=response, body=error)


@pytest.mark.parametrize(
    ("status", "method", "path", "error", "expected"),
    [
        (
            400,
            "POST",
            "/responses",
            {
                "code": "unsupported_tool",
                "param": "tools",
                "message": "The code_interpreter tool is not enabled on this server.",
            },
            "This provider does not support the code_interpreter tool: The code_interpreter "
            "tool is not enabled on this server.",
        ),
        (
            400,
            "POST",
            "/assistants",
            {"param": "tools[0].type", "message": "Invalid value: 'file_search'."},
            "This provider does not support the file_search tool: Invalid value: 'file_search'.",
        ),
        (
            404,
            "POST",
            "/vector_stores",
            {"message": "Not found"},
            "This provider does not support vector stores, which the file_search tool needs "
            "(404): Not found",
        ),
        (
            404,
            "POST",
            "/files",
            {"message": "Not found"},
            "This provider does not support file uploads (the Files API), which file search "
            "and the code interpreter need (404): Not found",
        ),
    ],
)
def test_a_provider_without_a_tool_is_named_readably(status, method, path, error, expected):
    refused = provider_error_from(status_error(status, method, path, error))

    assert (refused.code, str(refused)) == ("unsupported_tool", expected)


def test_a_refused_tool_is_named_from_the_request_when_the_message_does_not():
    sent = {"tools": [{"type": "function", "name": "f"}, {"type": "file_search"}]}
    error = {"param": "tools[1].type", "message": "Invalid 'tools[1].type': only 'function'."}
    bad_function = {"param": "tools[0].name", "message": "Invalid 'tools[0].name'."}

    refused = provider_error_from(status_error(400, "POST", "/responses", error, sent))
    mistake = provider_error_from(status_error(400, "POST", "/responses", bad_function, sent))

    assert (refused.code, str(refused)) == (
        "unsupported_tool",
        "This provider does not support the file_search tool: Invalid 'tools[1].type': only "
        "'function'.",
    )
    assert mistake.code == "bad_request"


def test_a_missing_file_is_not_taken_for_a_missing_api():
    missing = provider_error_from(
        status_error(404, "GET", "/files/file-gone", {"message": "No such file"})
    )

    assert missing.code == "not_found"
    # A store deleted on the provider: its files collection answers 404, the API is there.
    gone_store = provider_error_from(
        status_error(404, "POST", "/vector_stores/vs_gone/files", {"message": "No such store"})
    )
    assert gone_store.code == "not_found"
