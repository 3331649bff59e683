"""Helpers for driving the local provider through the real openai SDK."""

import asyncio

from django.conf import settings
from openai import AsyncOpenAI

TERMINAL_RUN_STATUSES = {"completed", "cancelled", "failed", "expired", "incomplete"}


def make_client(api_url: str, **options) -> AsyncOpenAI:
    """A client of the local provider; no retries unless a test asks, so that faults show."""
    options = {
        "api_key": settings.LOCAL_PROVIDER_API_KEY,
        "max_retries": 0,
        "timeout": 15.0,
        **options,
    }
    return AsyncOpenAI(base_url=api_url, **options)


async def new_assistant(client: AsyncOpenAI, **fields):
    return await client.beta.assistants.create(
        **{"model": "local-echo-1", "name": "Tester", **fields}
    )


async def new_thread(client: AsyncOpenAI, text: str):
    return await client.beta.threads.create(messages=[{"role": "user", "content": text}])


async def wait_for_run(client: AsyncOpenAI, thread_id: str, run_id: str, statuses, timeout=5.0):
    """Polls the run until its status is one of `statuses`; fails the test on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = await client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status in statuses:
            return run
        assert asyncio.get_running_loop().time() < deadline, f"run still {run.status}"
        await asyncio.sleep(0.02)


async def last_message(client: AsyncOpenAI, thread_id: str):
    page = await client.beta.threads.messages.list(thread_id=thread_id, limit=1)
    return page.data[0]


def message_text(message) -> str:
    return "".join(block.text.value for block in message.content if block.type == "text")
