"""Each protocol setup x each provider configuration, through the real SDK against the local
provider: definitions, a new thread, a streamed reply, a tool call round trip, cancel and
deleting the thread. The local model calls a function when a line of the user message is
`call <fn> {json}` and the assistant offers that function (docs/local-provider.md).

A setup is a protocol and where its thread lives: an Assistants thread, a conversation, a
chain of stored responses (the thread id is the chain's head), or on this site (stateless
Responses, Chat Completions: the site sends the transcript each turn, and Stop is closing
the stream). The local model answers the last user message only, so what a site-held thread
sent is read from the requests, recorded at the SDK (`sent`)."""

import asyncio
import json
import time
from contextlib import aclosing
from dataclasses import dataclass

import openai
import pytest
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.responses import AsyncResponses

from chat.agents import AssistantDefinition, ProviderError, agent_class, client_for
from chat.agents.clients import default_model
from chat.agents.events import Cancelled, Completed, RunStarted, TextDelta, ToolStep
from chat.agents.history import HistoryMessage
from localai.engine.model import reply_text, tool_reply_tokens
from tests.azure_credential import expired_token
from tests.chat import provider_configs
from tests.chat.provider_configs import GRID_CONFIGS, configure, serving_site


@dataclass(frozen=True)
class Setup:
    """A protocol and, for `responses`, its thread mode (Assistant.responses_thread)."""

    protocol: str
    thread_mode: str = ""

    def __str__(self) -> str:
        return "-".join(filter(None, (self.protocol, self.thread_mode)))

    @property
    def site_held(self) -> bool:
        """The thread is the site's transcript: nothing of it lives on the provider."""
        return self.protocol == "chat_completions" or self.thread_mode == "stateless"

    @property
    def chain(self) -> bool:
        return self.thread_mode == "stored"


SETUPS = [
    Setup("assistants"),
    Setup("responses", "conversation"),
    Setup("responses", "stored"),
    Setup("responses", "stateless"),
    Setup("chat_completions"),
]
# How the id of a thread the provider keeps begins: an Assistants thread, a conversation,
# the head of a chain of stored responses.
THREAD_PREFIX = {"assistants": "thread_", "conversation": "conv_", "stored": "resp_"}


@pytest.fixture(params=SETUPS, ids=str)
def setup(request) -> Setup:
    return request.param


@pytest.fixture(params=GRID_CONFIGS)
def provider_config(request, monkeypatch, settings):
    """The configurations of tests/chat/conftest.py, and a Foundry project."""
    site = serving_site(request, request.param)
    return configure(
        request.param, site_url=site.base_url, monkeypatch=monkeypatch, settings=settings
    )


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """Every streamed Responses or Chat Completions request made (the real call goes on)."""
    requests = []
    for cls in (AsyncResponses, AsyncCompletions):
        create = cls.create

        async def recording(self, *args, _create=create, **kwargs):
            if kwargs.get("stream"):
                requests.append(json.loads(json.dumps(kwargs)))
            return await _create(self, *args, **kwargs)

        monkeypatch.setattr(cls, "create", recording)
    return requests


def definition(provider, **overrides) -> AssistantDefinition:
    fields = {
        "name": "Agent under test",
        # Blank in the admin means this: on Azure, AZURE_OPENAI_CHAT_DEPLOYMENT_NAME.
        "model": default_model(provider),
        "instructions": "Be helpful.",
    }
    return AssistantDefinition(**{**fields, **overrides})


async def new_agent(setup: Setup, provider, **overrides):
    cls = agent_class(setup.protocol)
    agent = await cls.create(
        client=client_for(provider), definition=definition(provider, **overrides)
    )
    if setup.thread_mode:
        # As the site builds it (chat.services.assistants.assistant_agent).
        agent = cls(client=agent.client, definition=agent.definition, thread_mode=setup.thread_mode)
    return agent


async def remote_thread_exists(agent, setup: Setup, thread_id: str) -> bool:
    try:
        if setup.protocol == "assistants":
            await agent.client.beta.threads.retrieve(thread_id)
        elif setup.chain:
            await agent.client.responses.retrieve(thread_id)  # the chain's head
        else:
            await agent.client.conversations.retrieve(thread_id)
    except openai.NotFoundError:
        return False
    return True


async def stored_response(agent, response_id: str):
    """The provider's response of that id, or None where it keeps none."""
    try:
        return await agent.client.responses.retrieve(response_id)
    except openai.NotFoundError:
        return None


def text_of(events) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def run_ids(events) -> list[str]:
    return [event.run_id for event in events if isinstance(event, RunStarted)]


def said(request: dict) -> list[tuple[str, str]]:
    """(role, text) of the user and assistant messages a request sent, on either API."""
    items = request.get("input") or request.get("messages")
    return [(m["role"], m["content"]) for m in items if m.get("role") in ("user", "assistant")]


async def test_definitions_are_created_and_deleted_where_the_protocol_keeps_them(
    setup, provider_config
):
    provider = provider_config.connection
    agent = await new_agent(setup, provider)
    cls = agent_class(setup.protocol)

    assert agent.thread_mode == setup.thread_mode
    if provider_config.name == "foundry":
        # A project endpoint speaks the OpenAI v1 API under /openai/v1/ (Azure's v1 routes).
        assert str(agent.client.base_url) == f"{provider_config.site_url}/local/openai/v1/"
    if setup.protocol == "assistants":
        assert agent.id.startswith("asst_")
        again = await cls.retrieve(client=client_for(provider), remote_id=agent.id)
        assert again.definition.model == provider_config.model
        await agent.delete()
        with pytest.raises(ProviderError) as missing:
            await cls.retrieve(client=client_for(provider), remote_id=agent.id)
        assert missing.value.code == "not_found"
    else:
        # The definition lives on this site: nothing remote to create, retrieve or delete.
        assert agent.id == "" and agent.definition.model == provider_config.model
        with pytest.raises(ProviderError) as refused:
            await cls.retrieve(client=client_for(provider), remote_id="anything")
        assert refused.value.code == "unsupported"
        assert "keeps an assistant's definition on this site" in str(refused.value)
        await agent.delete()
    if setup.protocol == "chat_completions":
        # No provider tools: a definition asking for the code interpreter is refused, readably.
        with pytest.raises(ProviderError) as invalid:
            await new_agent(setup, provider, code_interpreter=True)
        assert invalid.value.code == "invalid"
        assert "code_interpreter cannot run there" in str(invalid.value)


async def test_a_new_thread_a_streamed_reply_a_second_turn_and_deleting_the_thread(
    setup, provider_config, sent
):
    agent = await new_agent(setup, provider_config.connection)

    items = [item async for item in agent.invoke_stream("Hello agent")]
    thread = items[0].thread
    events = [item.event for item in items]
    if setup.site_held:
        # The site keeps the transcript and gives it to the thread (TurnRunner._history).
        thread.history += [
            HistoryMessage("user", "Hello agent"),
            HistoryMessage("assistant", text_of(events)),
        ]
    more = [item async for item in agent.invoke_stream("Again", thread=thread)]

    assert all(item.thread is thread for item in items + more)
    assert isinstance(events[0], RunStarted) and events[0].run_id
    assert isinstance(events[-1], Completed)
    assert sum(isinstance(e, TextDelta) for e in events) > 3  # streamed, not in one piece
    assert text_of(events) == reply_text("Hello agent")
    assert text_of(item.event for item in more) == reply_text("Again")
    first, second = run_ids(events), run_ids(item.event for item in more)
    assert len(first) == len(second) == 1 and first != second

    if setup.site_held:
        # Nothing lives on the provider: no thread id, and each turn sends the transcript.
        assert thread.id is None
        assert said(sent[0]) == [("user", "Hello agent")]
        assert said(sent[1]) == [
            ("user", "Hello agent"),
            ("assistant", reply_text("Hello agent")),
            ("user", "Again"),
        ]
        if setup.protocol == "responses":
            assert all(request["store"] is False for request in sent)
            # `store: false`: the provider kept neither response.
            for response_id in first + second:
                assert await stored_response(agent, response_id) is None
        await thread.delete()  # nothing remote to delete: harmless
        assert thread.id is None
        await agent.delete()
        return

    assert thread.id.startswith(THREAD_PREFIX[setup.thread_mode or setup.protocol])
    if setup.chain:
        # The thread is the chain's head: the second response continues the first.
        assert thread.id == second[0]
        assert sent[1]["previous_response_id"] == first[0]
        assert said(sent[1]) == [("user", "Again")]  # the provider has the rest
        assert (await stored_response(agent, thread.id)).previous_response_id == first[0]
    thread_id = thread.id
    assert await remote_thread_exists(agent, setup, thread_id)
    await thread.delete()
    assert thread.id is None
    assert not await remote_thread_exists(agent, setup, thread_id)
    if setup.chain:
        # Every response of the chain went, not only its head.
        for response_id in first + second:
            assert await stored_response(agent, response_id) is None
    await thread.delete()  # deleting again is harmless
    await agent.delete()


async def test_a_tool_call_round_trip_runs_the_registered_function(setup, provider_config, sent):
    agent = await new_agent(
        setup, provider_config.connection, function_tools=("calculator", "current_time")
    )
    text = 'What is it?\ncall calculator {"expression": "6 * 7"}'

    items = [item async for item in agent.invoke_stream(text)]
    events = [item.event for item in items]

    steps = [event for event in events if isinstance(event, ToolStep)]
    # Shown when called, then again with its output: one step id.
    assert {step.id for step in steps} == {steps[0].id}
    assert steps[0].name == "calculator"
    assert json.loads(steps[0].arguments) == {"expression": "6 * 7"}
    assert steps[0].output is None and steps[-1].output == "42"
    assert isinstance(events[-1], Completed)
    assert text_of(events) == "".join(tool_reply_tokens(text, [("calculator", "42")]))
    # How the output went back: where the calls are kept, the output alone continues them;
    # a site-held thread sends the whole exchange again.
    call_id = steps[0].id
    output = {"type": "function_call_output", "call_id": call_id, "output": "42"}
    if setup.protocol == "chat_completions":
        messages = sent[-1]["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
        assert [c["id"] for c in messages[2]["tool_calls"]] == [call_id]
        assert messages[3] == {"role": "tool", "tool_call_id": call_id, "content": "42"}
    elif setup.protocol == "responses":
        calls, answer = run_ids(events)  # one response calls, the next answers
        last = sent[-1]["input"]
        if setup.site_held:
            assert [i["type"] for i in last] == ["message", "function_call", "function_call_output"]
            assert last[1]["call_id"] == call_id and last[2] == output
        else:
            assert last == [output]
        if setup.chain:
            thread = items[-1].thread
            assert sent[-1]["previous_response_id"] == calls
            assert thread.id == answer  # the head: the answer, which continues the calls
            assert (await stored_response(agent, answer)).previous_response_id == calls
            await thread.delete()
            assert await stored_response(agent, calls) is None
    await agent.delete()


async def test_a_tool_the_assistant_does_not_offer_is_not_called(setup, provider_config):
    agent = await new_agent(setup, provider_config.connection, function_tools=("current_time",))
    text = 'call calculator {"expression": "1 + 1"}'

    events = [item.event async for item in agent.invoke_stream(text)]

    assert not any(isinstance(event, ToolStep) for event in events)
    assert text_of(events) == reply_text(text)
    await agent.delete()


async def test_bad_tool_calls_become_error_outputs_and_the_reply_goes_on(setup, provider_config):
    agent = await new_agent(setup, provider_config.connection, function_tools=("calculator",))
    text = 'call calculator {"expression": "1 / 0"}\ncall calculator {"expr": "1"}'

    events = [item.event async for item in agent.invoke_stream(text)]

    outputs = [e.output for e in events if isinstance(e, ToolStep) and e.output is not None]
    assert outputs == [
        "Error: division by zero.",
        "Error: the arguments do not fit calculator: missing a required argument: 'expression'.",
    ]
    assert isinstance(events[-1], Completed)
    await agent.delete()


async def test_cancel_stops_a_running_reply(setup, provider_config):
    agent = await new_agent(setup, provider_config.connection)
    thread = agent.thread()
    events = []

    async with aclosing(
        agent.invoke_stream("[[delay:0.05]] [[tokens:300]] go", thread=thread)
    ) as items:
        async for item in items:
            events.append(item.event)
            if sum(isinstance(e, TextDelta) for e in events) == 5:
                run_id = next(e.run_id for e in events if isinstance(e, RunStarted))
                await agent.cancel(thread=thread, run_id=run_id)
                if setup.site_held:
                    # Nothing on the provider to cancel (the cancel is harmless): closing
                    # the stream is what stops the reply, as Stop does.
                    break

    assert sum(isinstance(e, TextDelta) for e in events) < 300
    if setup.site_held:
        assert sum(isinstance(e, TextDelta) for e in events) == 5
        if setup.protocol == "responses":
            assert await stored_response(agent, run_id) is None  # `store: false`
    else:
        assert isinstance(events[-1], Cancelled)
        if setup.protocol == "assistants":
            run = await agent.client.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
        else:
            run = await stored_response(agent, run_id)
        assert run.status == "cancelled"
    if setup.chain:
        assert thread.id == run_id  # the chain goes on from the stopped response
    # The thread takes the next message at once.
    after = [item.event async for item in agent.invoke_stream("next", thread=thread)]
    assert isinstance(after[-1], Completed)
    assert text_of(after) == reply_text("next")
    if setup.chain:
        assert (await stored_response(agent, thread.id)).previous_response_id == run_id
    await thread.delete()
    await agent.delete()


async def test_stopping_after_a_tool_ran_leaves_the_thread_usable(setup, provider_config):
    """What Stop does in the chat: the turn's task is cancelled, then the run."""
    agent = await new_agent(setup, provider_config.connection, function_tools=("calculator",))
    thread = agent.thread()
    run_id = None

    async with aclosing(
        agent.invoke_stream('call calculator {"expression": "2"}', thread)
    ) as items:
        async for item in items:
            if isinstance(item.event, RunStarted):
                run_id = item.event.run_id
            if isinstance(item.event, ToolStep) and item.event.output is not None:
                break  # the tool has answered; its output is not sent yet
    await agent.cancel(thread=thread, run_id=run_id)
    if setup.chain:
        # A response waiting for call outputs cannot be continued: the chain stays at its
        # head before the reply (none: it was the first).
        assert thread.id is None

    after = [item.event async for item in agent.invoke_stream("still there?", thread=thread)]
    assert isinstance(after[-1], Completed)
    assert text_of(after) == reply_text("still there?")
    if setup.chain:
        assert thread.id == run_ids(after)[0]
        assert (await stored_response(agent, thread.id)).previous_response_id is None
    await thread.delete()
    await agent.delete()


async def test_entra_id_tokens_are_fetched_again_once_they_expire(
    assistants_retired_server, monkeypatch, settings
):
    configured = configure(
        "azure-entra",
        site_url=assistants_retired_server.base_url,
        monkeypatch=monkeypatch,
        settings=settings,
    )
    agent = await new_agent(Setup("responses", "conversation"), configured.connection)

    first = [item.event async for item in agent.invoke_stream("before")]
    credential = provider_configs.issued_credentials[-1]
    issued = credential.issued_count
    first_expiry = credential.issued[0].expires_on
    await asyncio.sleep(first_expiry - time.time() + 0.2)  # the first token has expired
    second = [item.event async for item in agent.invoke_stream("after")]

    assert isinstance(first[-1], Completed) and isinstance(second[-1], Completed)
    assert credential.issued_count > issued >= 1
    assert credential.issued[-1].expires_on > time.time()
    assert set(credential.scopes) == {("https://cognitiveservices.azure.com/.default",)}


async def test_one_token_fetched_at_start_up_would_be_refused_once_expired(
    assistants_retired_server, settings
):
    client = openai.AsyncAzureOpenAI(
        azure_endpoint=f"{assistants_retired_server.base_url}/local",
        api_version="2025-04-01-preview",
        azure_ad_token=expired_token(),
        max_retries=0,
    )
    with pytest.raises(openai.AuthenticationError):
        await client.conversations.create()
