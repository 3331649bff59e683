"""The fault directives in the Chat Completions protocol, as an application using the SDK
sees them."""

import time

import openai
import pytest

from localai.engine.model import FAULT_AFTER_TOKENS, reply_tokens
from tests.localai.chat_completions_api.test_completions import collect, user
from tests.localai.sdk import make_client

MODEL = "local-echo-1"


async def test_fail_429_is_a_rate_limit_error_with_retry_after(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.RateLimitError) as error:
        await client.chat.completions.create(model=MODEL, messages=[user("Fast [[fail:429]]")])
    assert error.value.response.headers["retry-after"] == "1"
    assert error.value.code == "rate_limit_exceeded"
    retrying = make_client(api_url, max_retries=1)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        await retrying.chat.completions.create(
            model=MODEL, messages=[user("Fast [[fail:429]]")], stream=True
        )
    assert time.monotonic() - started >= 1.0


async def test_fail_500_and_hang(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.InternalServerError) as error:
        await client.chat.completions.create(
            model=MODEL, messages=[user("Break [[fail:500]]")], stream=True
        )
    assert error.value.type == "server_error"
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(
            model=MODEL, messages=[user("Wait [[hang]]")], stream=True, timeout=0.5
        )
    assert time.monotonic() - started < 5


async def test_a_cut_stream_ends_without_finish_reason_or_done(api_url):
    client = make_client(api_url)
    stream = await client.chat.completions.create(
        model=MODEL, messages=[user("Cut [[cut:2]]")], stream=True
    )
    chunks, text = await collect(stream)
    assert text == "".join(reply_tokens("Cut")[:2])
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks)
    with pytest.raises(openai.InternalServerError) as error:
        await client.chat.completions.create(model=MODEL, messages=[user("Cut [[cut:2]]")])
    assert "cut" in error.value.message


async def test_run_fail_sends_an_error_in_the_stream(api_url):
    client = make_client(api_url)
    stream = await client.chat.completions.create(
        model=MODEL, messages=[user("Oops [[run_fail]]")], stream=True
    )
    seen = []
    with pytest.raises(openai.APIError) as error:
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content)
    assert seen[1:] == reply_tokens("Oops")[:FAULT_AFTER_TOKENS]
    assert "[[run_fail]]" in error.value.message
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model=MODEL, messages=[user("Oops [[run_fail]]")])


async def test_expire_ends_with_finish_reason_length(api_url):
    client = make_client(api_url)
    completion = await client.chat.completions.create(
        model=MODEL, messages=[user("Late [[expire]]")]
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "".join(
        reply_tokens("Late")[:FAULT_AFTER_TOKENS]
    )


async def test_delay_paces_the_tokens(api_url):
    client = make_client(api_url)
    started = time.monotonic()
    stream = await client.chat.completions.create(
        model=MODEL, messages=[user("Slow [[delay:0.05]] [[tokens:10]]")], stream=True
    )
    _, text = await collect(stream)
    assert time.monotonic() - started >= 0.5
    assert text == "".join(reply_tokens("Slow [[tokens:10]]"))
