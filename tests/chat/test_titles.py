"""Titles derived locally from a message: what the sidebar shows before (or instead of) a
title the provider writes; and the title the provider writes."""

import pytest

from chat.models import Assistant
from chat.services.conversations import conversation_title_from
from chat.services.titles import title_generate
from tests.chat.connections import seed_connection
from tests.chat.provider_configs import configure


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("What is the capital of *Portugal*?", "What is the capital of Portugal?"),
        ("# Hello **world**\nsecond line", "Hello world"),
        ("\n\n  - first item\n- second", "first item"),
        ("> quoted `code` here", "quoted code here"),
        ("See [the docs](https://example.org) ![chart](c.png)", "See the docs chart"),
        ("```python\nprint('hi')\n```", "print('hi')"),
        ("snake_case stays, _emphasis_ goes", "snake_case stays, emphasis goes"),
        ('call calculator {"expression": "6 * 7"}', 'call calculator {"expression": "6 * 7"}'),
        ("~~old~~ **new** and `x*y*z`", "old new and x*y*z"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("   \n\t ", ""),
        ("[Lisbon](https://en.wikipedia.org/wiki/Lisbon_(city)) trip", "Lisbon trip"),
        ('![map](https://example.org/a_(b).png) of [it](u "t (x)")', "map of it"),
        ("[[delay:0.2]] Plan a [[tokens:40]] trip [[FAIL:500]]", "Plan a trip"),
        ("[[hang]]\nThe real question", "The real question"),
        (
            "[[delay:soon]] what the model leaves in, the title drops",
            "what the model leaves in, the title drops",
        ),
        ("[[wiki link]] stays", "[[wiki link]] stays"),
    ],
)
def test_a_title_is_the_first_line_with_text_without_markdown(text, title):
    assert conversation_title_from(text) == title


def test_a_long_line_is_cut_at_a_word_boundary():
    title = conversation_title_from("word " * 40)

    assert title.endswith("…")
    assert len(title) <= 60
    assert title[:-1].split() == ["word"] * len(title[:-1].split())


@pytest.mark.parametrize("length", [59, 60, 61, 70, 500])
def test_a_title_never_passes_60_characters_even_for_one_long_word(length):
    word = "x" * length

    title = conversation_title_from(word + " and more")

    assert len(title) <= 60
    assert title == "x" * min(length, 59) + "…"


def test_a_word_that_fits_with_the_ellipsis_is_kept_whole():
    line = "a" * 50 + " " + "b" * 8 + " " + "c" * 20  # the b-word ends at character 59

    assert conversation_title_from(line) == "a" * 50 + " " + "b" * 8 + "…"


async def test_an_assistant_on_the_default_model_gets_its_title_from_that_model(
    site_server, monkeypatch, settings
):
    # OpenAI-style, served by the local provider: OPENAI_CHAT_MODEL_ID is its model. A blank
    # model is the provider's default, for the title as for the turns (a blank one would be
    # refused and leave the derived title).
    configure("openai", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings)
    assistant = Assistant(
        name="Default model",
        connection=seed_connection("openai"),
        protocol="responses",
        model="",
    )

    title = await title_generate(assistant=assistant, question="Plan a trip", answer="Sure.")

    # The local model echoes what it was sent, under a first line "**You said:**".
    assert title == "You said"
