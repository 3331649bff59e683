"""The fault directives in the Responses protocol, as an application using the SDK sees them."""

import time

import openai
import pytest

from localai.engine.model import FAULT_AFTER_TOKENS, STAMP, reply_text, reply_tokens, strip_stamps
from tests.localai.responses_api.test_conversations import texts
from tests.localai.sdk import make_client, stream_events

MODEL = "local-echo-1"


async def test_fail_429_is_a_rate_limit_error_with_retry_after(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    with pytest.raises(openai.RateLimitError) as error:
        await client.responses.create(
            model=MODEL, input="Too fast [[fail:429]]", conversation=conversation.id
        )
    assert error.value.response.headers["retry-after"] == "1"
    assert error.value.code == "rate_limit_exceeded"

    # A client that retries waits the second the header asks for.
    retrying = make_client(api_url, max_retries=1)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        await retrying.responses.create(model=MODEL, input="Too fast [[fail:429]]", stream=True)
    assert time.monotonic() - started >= 1.0
    # Refused before anything was created: the conversation did not get the input.
    assert (await client.conversations.items.list(conversation.id)).data == []


async def test_fail_500_is_an_internal_server_error(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.InternalServerError) as error:
        await client.responses.create(model=MODEL, input="Break [[fail:500]]", stream=True)
    assert error.value.status_code == 500 and error.value.type == "server_error"
    with pytest.raises(openai.APIStatusError) as error:
        await client.responses.create(model=MODEL, input="Gone [[fail:503]]")
    assert error.value.status_code == 503


async def test_hang_sends_nothing_until_the_client_gives_up(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.responses.create(
            model=MODEL,
            input="Wait [[hang]]",
            conversation=conversation.id,
            stream=True,
            timeout=0.5,
        )
    assert time.monotonic() - started < 5
    # Nothing was left holding the conversation.
    response = await client.responses.create(
        model=MODEL, input="Still there?", conversation=conversation.id
    )
    assert response.status == "completed"


async def test_cut_ends_the_stream_without_closing_events(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    events = await stream_events(
        client, model=MODEL, input="Cut me [[cut:4]]", conversation=conversation.id
    )
    names = [event.type for event in events]
    assert names.count("response.output_text.delta") == 4
    assert names[-1] == "response.output_text.delta"

    response = await client.responses.retrieve(events[0].response.id)
    assert response.status == "failed" and "cut" in response.error.message
    assert response.output[0].status == "incomplete"
    assert response.output_text == "".join(reply_tokens("Cut me")[:4])
    # The conversation is free again, and keeps what was streamed.
    items = await client.conversations.items.list(conversation.id, order="asc")
    assert texts(items.data)[-1] == ("message", "assistant", response.output_text)


async def test_run_fail_streams_a_few_tokens_then_response_failed(api_url):
    client = make_client(api_url)
    events = await stream_events(client, model=MODEL, input="Oops [[run_fail]]")
    names = [event.type for event in events]
    assert names.count("response.output_text.delta") == FAULT_AFTER_TOKENS
    assert names[-2:] == ["response.output_item.done", "response.failed"]
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error.code == "server_error" and failed.error.message
    assert failed.output[0].status == "incomplete"

    # Without `stream`, the failed response is the answer.
    answered = await client.responses.create(model=MODEL, input="Oops [[run_fail]]")
    assert answered.status == "failed" and answered.error.code == "server_error"


async def test_expire_ends_the_response_incomplete(api_url):
    client = make_client(api_url)
    events = await stream_events(client, model=MODEL, input="Late [[expire]]")
    assert events[-1].type == "response.incomplete"
    incomplete = events[-1].response
    assert incomplete.status == "incomplete"
    assert incomplete.incomplete_details.reason == "max_output_tokens"
    assert incomplete.usage.output_tokens == FAULT_AFTER_TOKENS


async def test_stream_helper_surfaces_failures(api_url):
    client = make_client(api_url)
    async with client.responses.stream(model=MODEL, input="Oops [[run_fail]]") as stream:
        names = [event.type async for event in stream]
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            await stream.get_final_response()
    assert names[-1] == "response.failed"


async def test_stamp_marks_each_token_with_its_emission_time(api_url):
    client = make_client(api_url)
    text = "Time me [[stamp]] [[tokens:5]]"
    started = time.time()
    events = await stream_events(client, model=MODEL, input=text)
    ended = time.time()
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) == 5
    for delta, token in zip(deltas, reply_tokens(text), strict=True):
        [stamp] = STAMP.findall(delta)
        assert started <= float(stamp) <= ended
        assert strip_stamps(delta) == token
    assert strip_stamps(events[-1].response.output_text) == reply_text(text)
