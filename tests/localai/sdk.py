"""Helpers for driving the local provider through the real openai SDK."""

import asyncio

from django.conf import settings
from openai import AsyncAzureOpenAI, AsyncOpenAI

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


# --- Responses API, Conversations API, Azure-style routes ---------------------------------

# Any dated version: the Azure-style routes require one and accept any.
AZURE_API_VERSION = "2025-04-01-preview"
TERMINAL_RESPONSE_EVENTS = {"response.completed", "response.failed", "response.incomplete"}


def make_azure_client(site_url: str, **options) -> AsyncAzureOpenAI:
    """An Azure OpenAI client of the site's local provider (`<site>/local` is the endpoint,
    so requests go to `<site>/local/openai/...?api-version=...`); the key unless a test
    passes `azure_ad_token` or `azure_ad_token_provider`."""
    if "azure_ad_token" not in options and "azure_ad_token_provider" not in options:
        options.setdefault("api_key", settings.LOCAL_PROVIDER_API_KEY)
    if "base_url" not in options:
        options["azure_endpoint"] = f"{site_url}/local"
    options = {
        "api_version": AZURE_API_VERSION,
        "max_retries": 0,
        "timeout": 15.0,
        **options,
    }
    return AsyncAzureOpenAI(**options)


async def wait_for_response(client, response_id: str, statuses, timeout=5.0):
    """Retrieves the response until its status is one of `statuses`; fails on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.responses.retrieve(response_id)
        if response.status in statuses:
            return response
        assert asyncio.get_running_loop().time() < deadline, f"response still {response.status}"
        await asyncio.sleep(0.02)


async def stream_events(client, **request) -> list:
    """Every event of `responses.create(stream=True, ...)`."""
    stream = await client.responses.create(stream=True, **request)
    async with stream:
        return [event async for event in stream]
