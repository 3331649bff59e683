"""The agent layer against the local provider, as Semantic Kernel's agent is used."""

import openai
import pytest
from django.conf import settings

from chat.agents import AssistantDefinition, ProviderError, agent_class, client_for
from chat.agents.events import Cancelled, Completed, RunStarted, TextDelta
from localai.engine.model import reply_text
from tests.chat.connections import seed_connection

pytestmark = pytest.mark.usefixtures("local_provider_url")

Agent = agent_class("assistants")


def definition(**overrides) -> AssistantDefinition:
    fields = {
        "name": "Agent under test",
        "model": settings.LOCAL_PROVIDER_MODEL,
        "instructions": "Be helpful.",
    }
    return AssistantDefinition(**{**fields, **overrides})


async def test_create_retrieve_update_delete_a_definition():
    client = client_for(seed_connection("local"))
    agent = await Agent.create(client=client, definition=definition())

    again = await Agent.retrieve(client=client, remote_id=agent.id)
    await again.update(definition(instructions="Be terse.", remote_id=agent.id))
    updated = await Agent.retrieve(client=client, remote_id=agent.id)
    await agent.delete()

    assert agent.id.startswith("asst_")
    assert again.definition.name == "Agent under test"
    assert updated.definition.instructions == "Be terse."
    with pytest.raises(ProviderError) as missing:
        await Agent.retrieve(client=client, remote_id=agent.id)
    assert missing.value.code == "not_found"


async def test_invoking_without_a_thread_creates_one_and_every_item_carries_it():
    agent = await Agent.create(client=client_for(seed_connection("local")), definition=definition())

    items = [item async for item in agent.invoke_stream("Hello agent")]

    thread = items[0].thread
    assert thread.id.startswith("thread_")
    assert all(item.thread is thread for item in items)
    assert isinstance(items[0].event, RunStarted)
    assert isinstance(items[-1].event, Completed)
    text = "".join(i.event.text for i in items if isinstance(i.event, TextDelta))
    assert text == reply_text("Hello agent")

    # The same thread keeps the conversation; deleting it removes it remotely.
    more = [item async for item in agent.invoke_stream("Again", thread=thread)]
    assert more[-1].thread.id == thread.id
    remote_messages = await agent.client.beta.threads.messages.list(thread.id)
    assert len(remote_messages.data) == 4
    thread_id = thread.id
    await thread.delete()
    with pytest.raises(openai.NotFoundError):
        await agent.client.beta.threads.retrieve(thread_id)
    await agent.delete()


async def test_cancel_stops_a_running_reply():
    agent = await Agent.create(client=client_for(seed_connection("local")), definition=definition())
    thread = agent.thread()
    events = []
    async for item in agent.invoke_stream("[[delay:0.05]] [[tokens:300]] go", thread=thread):
        events.append(item.event)
        if isinstance(item.event, TextDelta) and len(events) == 5:
            run_id = next(e.run_id for e in events if isinstance(e, RunStarted))
            await agent.cancel(thread=thread, run_id=run_id)

    assert isinstance(events[-1], Cancelled)
    assert sum(isinstance(e, TextDelta) for e in events) < 300


async def test_a_wrong_key_is_a_readable_provider_error(settings):
    settings.LOCAL_PROVIDER_API_KEY = "not-the-key"
    with pytest.raises(ProviderError) as refused:
        await Agent.create(client=client_for(seed_connection("local")), definition=definition())
    assert refused.value.code == "auth"
    assert "credentials" in str(refused.value)
