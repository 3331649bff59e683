"""Text extraction, chunking, BM25 ranking, quotes and the file search reply's layout."""

import itertools

import pytest

from localai.engine.model import (
    CLOSING_SENTENCE,
    FILE_SEARCH_INTRO,
    Passage,
    citation_marker,
    file_search_reply,
)
from retrieval.documents import CHUNK_CHARS, UnreadableFile, chunk_text, extract_text
from retrieval.ranking import bm25_scores, passage_quote, query_terms, rank, unit_score
from tests.localai.documents import minimal_pdf


def test_chunks_are_overlapping_and_cut_at_paragraphs_or_sentences():
    paragraphs = [
        " ".join(f"Paragraph {p} sentence {s} is about topic{p}x{s}." for s in range(8))
        for p in range(12)
    ]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text)
    assert len(chunks) > 3
    assert all(len(chunk) <= CHUNK_CHARS for chunk in chunks)
    # Every sentence is whole in some chunk, and each chunk ends at a sentence's end.
    for paragraph in paragraphs:
        for sentence in paragraph.split(". "):
            assert any(sentence.rstrip(".") in chunk for chunk in chunks)
    assert all(chunk.endswith(".") for chunk in chunks)
    # Consecutive chunks share text.
    for first, second in itertools.pairwise(chunks):
        assert first[-40:] in second or second[:40] in first


def test_a_text_without_breaks_is_cut_between_words():
    text = " ".join(f"word{number}" for number in range(1000))
    chunks = chunk_text(text)
    assert all(len(chunk) <= CHUNK_CHARS for chunk in chunks)
    assert all(not chunk.startswith(" ") and "word" in chunk for chunk in chunks)
    assert "word999" in chunks[-1]


def test_short_text_is_one_chunk():
    assert chunk_text("Just one line.\n") == ["Just one line."]


def test_extracts_text_and_pdf_and_refuses_the_rest():
    assert extract_text(filename="a.csv", content=b"name,age\r\nAda,36\r\n") == "name,age\nAda,36\n"
    assert "Unicode ☃" in extract_text(filename="a.json", content='{"k": "Unicode ☃"}'.encode())
    pdf = extract_text(filename="x.pdf", content=minimal_pdf(["Hello (PDF) world"]))
    assert "Hello (PDF) world" in pdf
    with pytest.raises(UnreadableFile) as caught:
        extract_text(filename="pic.jpg", content=b"\xff\xd8\xff\xe0")
    assert caught.value.code == "unsupported_file"
    assert "image" in caught.value.message


def test_query_terms_drop_function_words_and_fold_case():
    assert query_terms("What is the CAPITAL of Österreich?") == ["capital", "österreich"]
    assert query_terms("what is it") == []


def test_bm25_prefers_rarer_terms_and_shorter_documents():
    documents = [
        "the river flows past the mill",
        "the mill grinds rye flour for the bakery",
        "rye rye rye " + "filler " * 50,
    ]
    scores = bm25_scores("rye mill", documents)
    assert scores[1] > scores[0] > 0
    assert rank("rye mill", documents)[0][0] == 1
    assert rank("volcano", documents) == []
    assert 0 < unit_score(scores[1]) < 1


def test_quote_is_centred_on_the_matching_sentence_and_bounded():
    filler = " ".join(f"Filler sentence number {n} says nothing much." for n in range(20))
    text = f"{filler} The lighthouse keeper climbs 217 steps every evening. {filler}"
    quote = passage_quote(text, "How many steps does the keeper climb?", 400)
    assert "The lighthouse keeper climbs 217 steps every evening." in quote
    assert len(quote) <= 400
    long_sentence = "word " * 200 + "needle " + "word " * 200
    cut = passage_quote(long_sentence, "needle", 120)
    assert "needle" in cut and len(cut) <= 120
    assert cut.startswith("…") and cut.endswith("…")


def test_a_quoted_markdown_heading_reads_as_a_lead_in_not_a_heading():
    text = "# Travel policy\n\nStaff book trains.\n\n## Expenses ##\n\nReceipts are due in 30 days."
    quote = passage_quote(text, "When are receipts due?", 400)
    assert quote == "Travel policy: Staff book trains. Expenses: Receipts are due in 30 days."


def test_reply_quotes_each_passage_with_its_marker_then_closes():
    passages = [
        Passage("file-a", "a.md", "First line\nsecond line", 0),
        Passage("file-b", "b.pdf", "Other passage", 2),
    ]
    with_markers = file_search_reply(passages, markers=True)
    assert with_markers.text == (
        f"{FILE_SEARCH_INTRO}\n\n> First line\n> second line【0:0†a.md】\n\n"
        f"> Other passage【0:2†b.pdf】\n\n{CLOSING_SENTENCE}"
    )
    for index, passage in with_markers.citations.items():
        assert with_markers.tokens[index] == citation_marker(passage)

    plain = file_search_reply(passages, markers=False)
    assert "【" not in plain.text
    ends = [len("".join(plain.tokens[: index + 1])) for index in plain.citations]
    assert [
        plain.text[:end].endswith(tail)
        for end, tail in zip(ends, ["second line", "Other passage"], strict=True)
    ] == [True, True]


def test_endings_fold_so_forms_of_a_word_match():
    from retrieval.ranking import fold

    assert {fold(word) for word in ("open", "opens", "opened", "opening")} == {"open"}
    assert {fold(word) for word in ("bake", "bakes", "baked", "baking")} == {"bak"}
    assert fold("class") == "class" and fold("is") == "is"
    documents = ["Bakery news, all about the bakery.", "The bakery opens at seven."]
    assert rank("When does the bakery open?", documents)[0][0] == 1
