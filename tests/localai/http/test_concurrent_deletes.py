"""Creating a message or a conversation item while its thread or conversation is being
deleted answers 404, never 500 (a broken foreign key): the create and the delete are
serialised by a lock on the parent's row (localai/locks.py). Found by Semantic Kernel 1.45,
whose cleanup deletes threads while other tasks still post to them."""

import asyncio

import openai

from tests.localai.sdk import make_client

TRIES = 40
MODEL = "local-echo-1"


async def test_messages_created_while_their_thread_is_deleted(api_url):
    client = make_client(api_url)
    outcomes = []
    for _ in range(TRIES):
        thread = await client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
        outcomes += await _race_once(
            lambda thread=thread: client.beta.threads.messages.create(
                thread.id, role="user", content="late"
            ),
            lambda thread=thread: client.beta.threads.delete(thread.id),
        )
    assert set(outcomes) <= {"created", "not_found"}
    assert "not_found" in outcomes


async def test_items_created_while_their_conversation_is_deleted(api_url):
    client = make_client(api_url)
    outcomes = []
    for _ in range(TRIES):
        conversation = await client.conversations.create()
        outcomes += await _race_once(
            lambda conversation=conversation: client.conversations.items.create(
                conversation.id,
                items=[
                    {"type": "message", "role": "user", "content": "one"},
                    {"type": "message", "role": "user", "content": "two"},
                ],
            ),
            lambda conversation=conversation: client.conversations.delete(conversation.id),
        )
    assert set(outcomes) <= {"created", "not_found"}
    assert "not_found" in outcomes


async def test_responses_and_runs_created_while_their_parent_is_deleted(api_url):
    client = make_client(api_url)
    assistant = await client.beta.assistants.create(model=MODEL)
    outcomes = []
    for _ in range(TRIES // 4):
        conversation = await client.conversations.create()
        outcomes += await _race_once(
            lambda conversation=conversation: client.responses.create(
                model=MODEL, input="hi [[tokens:2]]", conversation=conversation.id
            ),
            lambda conversation=conversation: client.conversations.delete(conversation.id),
        )
        thread = await client.beta.threads.create()
        outcomes += await _race_once(
            lambda thread=thread: client.beta.threads.runs.create(
                thread_id=thread.id,
                assistant_id=assistant.id,
                additional_messages=[{"role": "user", "content": "hi [[tokens:2]]"}],
            ),
            lambda thread=thread: client.beta.threads.delete(thread.id),
        )
    assert set(outcomes) <= {"created", "not_found"}


async def _race_once(create, delete) -> list[str]:
    created, deleted = await asyncio.gather(create(), delete(), return_exceptions=True)
    if isinstance(deleted, Exception):
        raise deleted
    if isinstance(created, openai.NotFoundError):
        return ["not_found"]
    if isinstance(created, Exception):
        raise created
    return ["created"]
