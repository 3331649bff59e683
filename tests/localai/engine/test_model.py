"""The deterministic model: a pure function of the message, with test directives."""

import json

from localai.engine.model import (
    CLOSING_SENTENCE,
    parse_directives,
    reply_text,
    reply_tokens,
    tokenize,
    tool_call_requests,
    tool_reply_tokens,
)

TOOLS = [{"type": "function", "function": {"name": "get_time", "parameters": {}}}]


def test_reply_quotes_the_message_and_says_it_is_not_an_llm():
    text = reply_text("Hello world\nsecond line")
    assert "> Hello world\n> second line" in text
    assert text.endswith(CLOSING_SENTENCE)
    assert "not an LLM" in text


def test_tokens_are_word_pieces_that_join_into_the_reply():
    tokens = reply_tokens("Hello world")
    assert "".join(tokens) == reply_text("Hello world")
    assert " world" in tokens
    assert all(token.strip() for token in tokens)
    assert reply_tokens("Hello world") == tokens
    assert tokenize("Hello  big\nworld ") == ["Hello", "  big", "\nworld", " "]


def test_directives_are_stripped_from_the_echo_and_parsed():
    clean, directives = parse_directives("Hi [[delay:0.2]] there [[tokens:7]] [[fail:429]]")
    assert clean == "Hi there"
    assert directives.delay == 0.2
    assert directives.tokens == 7
    assert directives.fail == 429
    assert not directives.hang
    _, faults = parse_directives("[[hang]][[cut:4]][[run_fail]][[expire]]")
    assert (faults.hang, faults.cut, faults.run_fail, faults.expire) == (True, 4, True, True)
    assert "[[" not in reply_text("Hi [[delay:0.2]] there")


def test_a_directive_that_is_not_understood_stays_visible():
    clean, directives = parse_directives("Hi [[delay:soon]] [[fail:200]]")
    assert clean == "Hi [[delay:soon]] [[fail:200]]"
    assert directives.delay is None
    assert directives.fail is None


def test_tokens_directive_truncates_or_pads_with_numbered_words():
    assert len(reply_tokens("Hello [[tokens:2]]")) == 2
    assert reply_tokens("Hello [[tokens:2]]") == reply_tokens("Hello")[:2]
    padded = reply_tokens("Hello [[tokens:60]]")
    natural = reply_tokens("Hello")
    assert len(padded) == 60
    assert padded[: len(natural)] == natural
    assert padded[len(natural) :] == [f" w{n}" for n in range(1, 61 - len(natural))]
    assert reply_tokens("[[tokens:0]]") == []


def test_tool_call_lines_name_offered_functions_only():
    text = 'Please\ncall get_time {"tz": "UTC"}\ncall unknown_tool {}\ncall get_time {oops}'
    requests = tool_call_requests(text, TOOLS)
    assert [(r.name, json.loads(r.arguments)) for r in requests] == [("get_time", {"tz": "UTC"})]
    assert [r.arguments for r in tool_call_requests("call get_time", TOOLS)] == ["{}"]
    assert tool_call_requests('call get_time {"tz": "UTC"}', []) == []


def test_tool_reply_quotes_each_output():
    tokens = tool_reply_tokens("call get_time", [("get_time", "12:00\nUTC")])
    assert "".join(tokens).startswith("The tool `get_time` returned:\n\n> 12:00\n> UTC")
    assert len(tool_reply_tokens("call get_time [[tokens:3]]", [("get_time", "x")])) == 3


def test_history_directive_quotes_the_earlier_user_messages():
    history = ["first [[delay:0.1]]", "second\nline"]
    text = reply_text("third [[history]]", history)
    assert "> third" in text
    assert "**Earlier in this conversation you said:**\n\n> first\n\n> second\n> line" in text
    assert text.endswith(CLOSING_SENTENCE)
    assert "first message of the conversation" in reply_text("only [[history]]")
    # Without the directive the history changes nothing.
    assert reply_text("third", history) == reply_text("third")
