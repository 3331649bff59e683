"""Each protocol x each provider configuration, through the real SDK against the local
provider: definitions, a new thread, a streamed reply, a tool call round trip, cancel and
deleting the thread. The local model calls a function when a line of the user message is
`call <fn> {json}` and the assistant offers that function (docs/local-provider.md)."""

import asyncio
import json
import time
from contextlib import aclosing

import openai
import pytest

from chat.agents import AssistantDefinition, ProviderError, agent_class, client_for
from chat.agents.clients import default_model
from chat.agents.events import Cancelled, Completed, RunStarted, TextDelta, ToolStep
from localai.engine.model import reply_text, tool_reply_tokens
from tests.azure_credential import expired_token
from tests.chat import provider_configs
from tests.chat.provider_configs import configure

PROTOCOLS = ["assistants", "responses"]
THREAD_PREFIX = {"assistants": "thread_", "responses": "conv_"}


@pytest.fixture(params=PROTOCOLS)
def protocol(request) -> str:
    return request.param


def definition(provider, **overrides) -> AssistantDefinition:
    fields = {
        "name": "Agent under test",
        # Blank in the admin means this: on Azure, AZURE_OPENAI_CHAT_DEPLOYMENT_NAME.
        "model": default_model(provider),
        "instructions": "Be helpful.",
    }
    return AssistantDefinition(**{**fields, **overrides})


async def new_agent(protocol: str, provider, **overrides):
    return await agent_class(protocol).create(
        client=client_for(provider), definition=definition(provider, **overrides)
    )


async def remote_thread_exists(agent, protocol: str, thread_id: str) -> bool:
    try:
        if protocol == "assistants":
            await agent.client.beta.threads.retrieve(thread_id)
        else:
            await agent.client.conversations.retrieve(thread_id)
    except openai.NotFoundError:
        return False
    return True


def text_of(events) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


async def test_definitions_are_created_and_deleted_where_the_protocol_keeps_them(
    protocol, provider_config
):
    provider = provider_config.connection
    agent = await new_agent(protocol, provider)
    cls = agent_class(protocol)

    if protocol == "assistants":
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


async def test_a_new_thread_a_streamed_reply_a_second_turn_and_deleting_the_thread(
    protocol, provider_config
):
    agent = await new_agent(protocol, provider_config.connection)

    items = [item async for item in agent.invoke_stream("Hello agent")]
    thread = items[0].thread
    more = [item async for item in agent.invoke_stream("Again", thread=thread)]

    assert thread.id.startswith(THREAD_PREFIX[protocol])
    assert all(item.thread is thread for item in items + more)
    events = [item.event for item in items]
    assert isinstance(events[0], RunStarted) and events[0].run_id
    assert isinstance(events[-1], Completed)
    assert sum(isinstance(e, TextDelta) for e in events) > 3  # streamed, not in one piece
    assert text_of(events) == reply_text("Hello agent")
    assert text_of(item.event for item in more) == reply_text("Again")
    thread_id = thread.id
    assert await remote_thread_exists(agent, protocol, thread_id)
    await thread.delete()
    assert thread.id is None
    assert not await remote_thread_exists(agent, protocol, thread_id)
    await thread.delete()  # deleting again is harmless
    await agent.delete()


async def test_a_tool_call_round_trip_runs_the_registered_function(protocol, provider_config):
    agent = await new_agent(
        protocol, provider_config.connection, function_tools=("calculator", "current_time")
    )
    text = 'What is it?\ncall calculator {"expression": "6 * 7"}'

    events = [item.event async for item in agent.invoke_stream(text)]

    steps = [event for event in events if isinstance(event, ToolStep)]
    # Shown when called, then again with its output: one step id.
    assert {step.id for step in steps} == {steps[0].id}
    assert steps[0].name == "calculator"
    assert json.loads(steps[0].arguments) == {"expression": "6 * 7"}
    assert steps[0].output is None and steps[-1].output == "42"
    assert isinstance(events[-1], Completed)
    assert text_of(events) == "".join(tool_reply_tokens(text, [("calculator", "42")]))
    await agent.delete()


async def test_a_tool_the_assistant_does_not_offer_is_not_called(protocol, provider_config):
    agent = await new_agent(protocol, provider_config.connection, function_tools=("current_time",))
    text = 'call calculator {"expression": "1 + 1"}'

    events = [item.event async for item in agent.invoke_stream(text)]

    assert not any(isinstance(event, ToolStep) for event in events)
    assert text_of(events) == reply_text(text)
    await agent.delete()


async def test_bad_tool_calls_become_error_outputs_and_the_reply_goes_on(protocol, provider_config):
    agent = await new_agent(protocol, provider_config.connection, function_tools=("calculator",))
    text = 'call calculator {"expression": "1 / 0"}\ncall calculator {"expr": "1"}'

    events = [item.event async for item in agent.invoke_stream(text)]

    outputs = [e.output for e in events if isinstance(e, ToolStep) and e.output is not None]
    assert outputs == [
        "Error: division by zero.",
        "Error: the arguments do not fit calculator: missing a required argument: 'expression'.",
    ]
    assert isinstance(events[-1], Completed)
    await agent.delete()


async def test_cancel_stops_a_running_reply(protocol, provider_config):
    agent = await new_agent(protocol, provider_config.connection)
    thread = agent.thread()
    events = []

    async for item in agent.invoke_stream("[[delay:0.05]] [[tokens:300]] go", thread=thread):
        events.append(item.event)
        if sum(isinstance(e, TextDelta) for e in events) == 5:
            run_id = next(e.run_id for e in events if isinstance(e, RunStarted))
            await agent.cancel(thread=thread, run_id=run_id)

    assert isinstance(events[-1], Cancelled)
    assert sum(isinstance(e, TextDelta) for e in events) < 300
    # The thread takes the next message at once.
    after = [item.event async for item in agent.invoke_stream("next", thread=thread)]
    assert isinstance(after[-1], Completed)
    await thread.delete()
    await agent.delete()


async def test_stopping_after_a_tool_ran_leaves_the_thread_usable(protocol, provider_config):
    """What Stop does in the chat: the turn's task is cancelled, then the run."""
    agent = await new_agent(protocol, provider_config.connection, function_tools=("calculator",))
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

    after = [item.event async for item in agent.invoke_stream("still there?", thread=thread)]
    assert isinstance(after[-1], Completed)
    assert text_of(after) == reply_text("still there?")
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
    agent = await new_agent("responses", configured.connection)

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
