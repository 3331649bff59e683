"""The chat_completions agent and the responses threads against scripted streams in the
SDK's own types: call deltas assembled into calls, several in one round, the context
budget, usage summed over rounds, the chain of stored responses, and a stateless exchange.
The end-to-end runs over HTTP are in test_protocols.py and tests/real_model."""

import json
from types import SimpleNamespace as Obj

import httpx2
import openai
import pytest
from django.urls import reverse
from openai._models import construct_type
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from chat.agents import AssistantDefinition, ProviderError, agent_class
from chat.agents.errors import provider_error_from
from chat.agents.events import Completed, Failed, Incomplete, RunStarted, TextDelta, ToolStep
from chat.agents.history import HistoryMessage, estimated_tokens
from chat.agents.tool_calls import MAX_TOOL_ROUNDS
from chat.models import Assistant, Conversation, Message
from chat.services.turns import turn_edit, turn_regenerate
from tests.chat.test_admin import form_data
from tests.chat.test_tool_rounds import Stream
from tests.chat.wsclient import make_user


def definition(**overrides) -> AssistantDefinition:
    fields = {
        "name": "Helper",
        "model": "m",
        "instructions": "Be brief.",
        "function_tools": ("calculator", "current_time"),
    }
    return AssistantDefinition(**{**fields, **overrides})


def chunk(*, delta=None, finish=None, usage=None, id="chatcmpl-1") -> ChatCompletionChunk:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return ChatCompletionChunk.model_validate(
        {
            "id": id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "served-model",
            "choices": choices,
            "usage": usage,
        }
    )


def usage(prompt: int, completion: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class ScriptedCompletions:
    def __init__(self, *streams):
        self.streams = list(streams)
        self.requests: list[dict] = []

    async def create(self, **request):
        self.requests.append(json.loads(json.dumps(request)))
        return Stream(self.streams.pop(0))


def chat_agent(completions, **overrides):
    client = Obj(chat=Obj(completions=completions))
    return agent_class("chat_completions")(client=client, definition=definition(**overrides))


def text_of(events) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


TWO_CALLS = [
    chunk(delta={"role": "assistant", "content": None}),
    # Two calls in one round, their fragments interleaved, told apart by `index`.
    chunk(
        delta={
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": ""},
                }
            ]
        }
    ),
    chunk(delta={"tool_calls": [{"index": 0, "function": {"arguments": '{"expres'}}]}),
    chunk(
        delta={
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": '},
                }
            ]
        }
    ),
    chunk(delta={"tool_calls": [{"index": 0, "function": {"arguments": 'sion": "6 * 7"}'}}]}),
    chunk(delta={"tool_calls": [{"index": 1, "function": {"arguments": '"2 + 2"}'}}]}),
    chunk(delta={}, finish="tool_calls"),
    chunk(usage=usage(50, 20)),
]
ANSWER = [
    chunk(delta={"role": "assistant", "content": "It is "}, id="chatcmpl-2"),
    chunk(delta={"content": "42 and 4."}, id="chatcmpl-2"),
    chunk(delta={}, finish="stop", id="chatcmpl-2"),
    chunk(usage=usage(90, 6), id="chatcmpl-2"),
]


async def test_streamed_call_deltas_become_two_calls_answered_with_tool_messages():
    completions = ScriptedCompletions(TWO_CALLS, ANSWER)
    agent = chat_agent(completions)

    events = [item.event async for item in agent.invoke_stream("Compute both.")]

    steps = [e for e in events if isinstance(e, ToolStep)]
    assert [(s.id, s.output) for s in steps] == [
        ("call_a", None),
        ("call_b", None),
        ("call_a", "42"),
        ("call_b", "4"),
    ]
    assert json.loads(steps[0].arguments) == {"expression": "6 * 7"}
    assert text_of(events) == "It is 42 and 4."
    assert events[-1] == Completed(
        usage={"input_tokens": 140, "output_tokens": 26}, model="served-model"
    )
    first, second = completions.requests
    assert first["stream"] is True and first["stream_options"] == {"include_usage": True}
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator", "current_time"]
    assert first["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Compute both."},
    ]
    assert second["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "6 * 7"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "2 + 2"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "42"},
        {"role": "tool", "tool_call_id": "call_b", "content": "4"},
    ]
    assert [e.run_id for e in events if isinstance(e, RunStarted)] == [
        "chatcmpl-1",
        "chatcmpl-2",
    ]


async def test_the_transcript_is_sent_newest_first_up_to_the_budget_with_a_step_saying_so():
    history = [
        HistoryMessage("user" if i % 2 == 0 else "assistant", f"message {i} " + "x" * 36)
        for i in range(10)
    ]
    per_message = estimated_tokens(history[0].content)
    # The instructions, the new message and the three newest earlier messages fit.
    budget = estimated_tokens("Be brief.") + estimated_tokens("Next?") + 3 * per_message + 1
    completions = ScriptedCompletions(ANSWER)
    agent = chat_agent(completions, context_budget=budget)

    events = [
        item.event async for item in agent.invoke_stream("Next?", agent.thread(history=history))
    ]

    assert completions.requests[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        *({"role": m.role, "content": m.content} for m in history[7:]),
        {"role": "user", "content": "Next?"},
    ]
    step = events[0]
    assert isinstance(step, ToolStep) and step.type == "context"
    assert step.output == (
        f"7 older messages were left out to fit the assistant's context budget of "
        f"{budget:,} tokens."
    )
    assert step.details == {"omitted": 7, "budget": budget}
    assert isinstance(events[-1], Completed)


async def test_a_whole_transcript_within_the_budget_is_sent_without_a_step():
    history = [HistoryMessage("user", "Hi"), HistoryMessage("assistant", "Hello")]
    completions = ScriptedCompletions(ANSWER)
    agent = chat_agent(completions)

    events = [
        item.event async for item in agent.invoke_stream("Again", agent.thread(history=history))
    ]

    assert len(completions.requests[0]["messages"]) == 4
    assert not any(isinstance(e, ToolStep) for e in events)


async def test_a_stream_without_a_finish_reason_is_incomplete_and_length_says_why():
    cut = [chunk(delta={"content": "Half"})]
    long = [chunk(delta={"content": "Long"}), chunk(delta={}, finish="length")]

    events = [item.event async for item in chat_agent(ScriptedCompletions(cut)).invoke_stream("x")]
    longer = [item.event async for item in chat_agent(ScriptedCompletions(long)).invoke_stream("x")]

    assert events[-1] == Incomplete("The provider closed the stream before the reply finished.")
    assert longer[-1] == Incomplete("The reply reached its maximum length.")


async def test_the_tool_rounds_are_bounded():
    rounds = [
        [
            chunk(
                delta={
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": f"call_{n}",
                            "type": "function",
                            "function": {"name": "calculator", "arguments": '{"expression": "1"}'},
                        }
                    ]
                }
            ),
            chunk(delta={}, finish="tool_calls"),
        ]
        for n in range(MAX_TOOL_ROUNDS + 1)
    ]
    completions = ScriptedCompletions(*rounds)

    events = [item.event async for item in chat_agent(completions).invoke_stream("loop")]

    assert isinstance(events[-1], Failed) and events[-1].code == "tool_limit"
    assert completions.requests[-1]["tool_choice"] == "none"
    assert len(completions.requests) == MAX_TOOL_ROUNDS + 1


def test_the_code_interpreter_is_refused_on_chat_completions_before_anything_is_saved():
    cls = agent_class("chat_completions")
    with pytest.raises(ProviderError) as refused:
        cls.check_definition(definition(file_search=True, code_interpreter=True))
    assert refused.value.code == "invalid"
    assert str(refused.value).startswith(
        "The chat_completions protocol has no provider tools, so code_interpreter cannot run there."
    )
    cls.check_definition(definition())  # function tools are fine
    # File search runs on the site there (chat.file_search).
    cls.check_definition(definition(file_search=True))


# --- Responses: a chain of stored responses, and stateless ----------------------------------


def response_event(value: dict):
    return construct_type(type_=ResponseStreamEvent, value=value)


def response_stream(response_id: str, *, calls=(), text="Done."):
    created = response_event(
        {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}}
    )
    output = [
        {
            "type": "function_call",
            "id": f"fc_{call_id}",
            "call_id": call_id,
            "name": "calculator",
            "arguments": '{"expression": "6 * 7"}',
            "status": "completed",
        }
        for call_id in calls
    ]
    events = [created]
    if not calls:
        events.append(
            response_event({"type": "response.output_text.delta", "delta": text, "item_id": "m"})
        )
    events.append(
        response_event(
            {
                "type": "response.completed",
                "response": {
                    "id": response_id,
                    "status": "completed",
                    "model": "served-model",
                    "output": output,
                    "usage": {
                        "input_tokens": 10,
                        "output_tokens": 5,
                        "total_tokens": 15,
                        "input_tokens_details": {"cached_tokens": 0},
                        "output_tokens_details": {"reasoning_tokens": 0},
                    },
                },
            }
        )
    )
    return events


class ScriptedResponses:
    def __init__(self, *streams):
        self.streams = list(streams)
        self.requests: list[dict] = []

    async def create(self, **request):
        self.requests.append(json.loads(json.dumps(request)))
        return Stream(self.streams.pop(0))


def responses_agent(responses, thread_mode):
    client = Obj(responses=responses)
    return agent_class("responses")(client=client, definition=definition(), thread_mode=thread_mode)


async def test_a_stored_chain_continues_from_its_head_through_a_tool_round():
    responses = ScriptedResponses(
        response_stream("resp_2", calls=["call_1"]), response_stream("resp_3")
    )
    agent = responses_agent(responses, "stored")
    thread = agent.thread("resp_1")  # the head left by the previous reply

    events = [item.event async for item in agent.invoke_stream("Compute.", thread)]

    first, second = responses.requests
    assert (first["previous_response_id"], first["store"]) == ("resp_1", True)
    assert "conversation" not in first
    assert first["input"] == [{"type": "message", "role": "user", "content": "Compute."}]
    assert second["previous_response_id"] == "resp_2"
    assert second["input"] == [
        {"type": "function_call_output", "call_id": "call_1", "output": "42"}
    ]
    assert thread.id == "resp_3"  # the new head
    assert events[-1] == Completed(
        usage={"input_tokens": 20, "output_tokens": 10}, model="served-model"
    )


async def test_a_new_chain_starts_without_a_previous_response():
    responses = ScriptedResponses(response_stream("resp_1"))
    agent = responses_agent(responses, "stored")
    thread = agent.thread()

    [item async for item in agent.invoke_stream("Hi", thread)]

    assert "previous_response_id" not in responses.requests[0]
    assert thread.id == "resp_1"


async def test_a_stateless_exchange_sends_the_transcript_and_the_calls_again():
    responses = ScriptedResponses(
        response_stream("resp_a", calls=["call_1"]), response_stream("resp_b")
    )
    agent = responses_agent(responses, "stateless")
    thread = agent.thread(
        history=[HistoryMessage("user", "Hi"), HistoryMessage("assistant", "Hey")]
    )

    events = [item.event async for item in agent.invoke_stream("Compute.", thread)]

    first, second = responses.requests
    assert first["store"] is False
    assert "previous_response_id" not in first and "conversation" not in first
    said = [
        {"type": "message", "role": "user", "content": "Hi"},
        {"type": "message", "role": "assistant", "content": "Hey"},
        {"type": "message", "role": "user", "content": "Compute."},
    ]
    assert first["input"] == said
    assert second["input"] == [
        *said,
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "calculator",
            "arguments": '{"expression": "6 * 7"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
    ]
    assert thread.id is None  # nothing lives on the provider
    assert isinstance(events[-1], Completed)


# --- A server without the API ---------------------------------------------------------------


def route_missing(path: str, body) -> openai.NotFoundError:
    request = httpx2.Request("POST", f"http://server.test/v1{path}")
    response = httpx2.Response(404, request=request, json=body)
    return openai.NotFoundError("Not Found", response=response, body=body)


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/responses",
            {"detail": "Not Found"},  # vLLM, llama.cpp
            "This server does not implement the Responses API (404): choose the "
            "chat_completions protocol.",
        ),
        (
            "/responses",
            "Unexpected endpoint or method. (POST /v1/responses)",  # LM Studio
            "This server does not implement the Responses API (404): choose the "
            "chat_completions protocol.",
        ),
        (
            "/conversations",
            {"message": "Invalid URL (POST /v1/conversations)", "type": "invalid_request_error"},
            "This server does not implement the Conversations API (404): choose the stored "
            "or stateless thread for the responses protocol, or chat_completions.",
        ),
    ],
)
def test_a_server_without_the_protocols_api_says_which_to_choose(path, body, expected):
    error = provider_error_from(route_missing(path, body))

    assert (error.code, str(error)) == ("unsupported_api", expected)


def test_an_unknown_model_on_the_responses_api_is_not_a_missing_api():
    body = {"message": "The model 'gpt-missing' does not exist", "code": "model_not_found"}

    assert provider_error_from(route_missing("/responses", body)).code == "not_found"


# --- Saving an assistant, and restarting a chain ----------------------------------------------


@pytest.mark.django_db
def test_the_admin_refuses_the_code_interpreter_on_chat_completions_readably(admin_client):
    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(protocol="chat_completions", file_search="on", code_interpreter="on"),
    )

    assert response.status_code == 200
    assert "The chat_completions protocol has no provider tools, so code_interpreter cannot" in (
        response.content.decode()
    )
    assert not Assistant.objects.exists()


@pytest.mark.django_db
def test_the_admin_saves_file_search_on_chat_completions(admin_client):
    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(protocol="chat_completions", file_search="on"),
    )

    assert response.status_code == 302
    assert Assistant.objects.get().file_search


@pytest.mark.django_db
def test_regenerate_and_edit_restart_a_stored_chain_from_the_reply_before():
    user = make_user("ada")
    assistant = Assistant.objects.create(
        name="Chained", protocol="responses", responses_thread="stored"
    )
    conversation = Conversation.objects.create(
        owner=user, assistant=assistant, remote_thread_id="resp_2"
    )

    def exchange(text, head):
        Message.objects.create(conversation=conversation, role="user", content=text)
        return Message.objects.create(
            conversation=conversation, role="assistant", content="ok", remote_response_id=head
        )

    exchange("one", "resp_1")
    exchange("two", "resp_2")

    turn_regenerate(user=user, conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.remote_thread_id == "resp_1"

    Message.objects.filter(status="pending").update(status="complete", remote_response_id="resp_9")
    last_user = conversation.messages.filter(role="user").last()
    turn_edit(user=user, conversation_id=conversation.pk, message_id=last_user.pk, text="2!")
    conversation.refresh_from_db()
    assert conversation.remote_thread_id == "resp_1"
