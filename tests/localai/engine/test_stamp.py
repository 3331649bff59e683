"""The `[[stamp]]` directive: each streamed token carries its emission time (for bench/)."""

import time

import pytest

from localai.engine.model import STAMP, parse_directives, reply_text, reply_tokens, strip_stamps
from tests.localai.sdk import make_client, new_assistant, new_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_stamp_is_a_directive_and_leaves_the_model_text_alone():
    clean, directives = parse_directives("Hello [[stamp]] there")
    assert (clean, directives.stamp) == ("Hello there", True)
    assert not parse_directives("Hello there")[1].stamp
    assert reply_tokens("Hello [[stamp]] there") == reply_tokens("Hello there")


async def test_streamed_tokens_carry_their_emission_time(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    text = "Time me [[stamp]] [[tokens:5]]"
    thread = await new_thread(client, text)
    started = time.time()
    deltas = []
    stream = await client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, stream=True
    )
    async with stream:
        async for event in stream:
            if event.event == "thread.message.delta":
                deltas.extend(part.text.value for part in event.data.delta.content)
    ended = time.time()

    assert len(deltas) == 5
    for delta, token in zip(deltas, reply_tokens(text), strict=True):
        stamps = STAMP.findall(delta)
        assert len(stamps) == 1 and delta.endswith("⟩")
        assert started <= float(stamps[0]) <= ended
        assert strip_stamps(delta) == token
    assert strip_stamps("".join(deltas)) == reply_text(text)
