"""BM25 ranking of text chunks against a query, and the quote a reply shows from a chunk.

Okapi BM25 with the usual k1 = 1.2 and b = 0.75. Words are Unicode word characters,
case-folded, with a light folding of English endings (`fold`). The inverse document
frequency is computed over the chunks being searched, in the non-negative form
log(1 + (N - n + 0.5) / (n + 0.5)) (as Lucene does), so a word that every chunk holds still
counts a little instead of counting against a chunk. Common English function words are
left out of the query, so that "what is the ..." does not match every chunk.
"""

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

K1 = 1.2
B = 0.75

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?…。])\s+")
# A Markdown heading line ("# Expenses"). In a one-line quote its "#" would turn the whole
# quote into a heading, so the heading is quoted as a lead-in ("Expenses:") instead.
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(?P<title>.*?)[ \t#]*$", re.MULTILINE)


def _heading_as_lead_in(match: re.Match) -> str:
    title = match["title"]
    return title if not title or title[-1] in ".:!?…" else f"{title}:"


STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves tell say says said please know find give show explain
    """.split()
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def fold(word: str) -> str:
    """A light folding of English endings, so that "opens", "opened" and "opening" match
    "open", and "bakes", "baked" and "baking" match "bake": -ing, -ed or -s, then a final
    -e, each only from a word long enough to keep a stem. Not a stemmer: "cities" and
    "city" stay apart."""
    if len(word) > 4 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 3 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The words of a text as ranking compares them."""
    return [fold(word) for word in words(text)]


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query that count for ranking, in order."""
    return list(dict.fromkeys(fold(word) for word in words(query) if word not in STOP_WORDS))


def term_counts(text: str) -> dict[str, int]:
    """How often each term occurs in a text: what BM25 needs of a chunk, computed once when
    the chunk is stored (the site keeps it with the chunk) rather than at every query."""
    return dict(Counter(terms(text)))


def bm25_scores(query: str, documents: Sequence[str]) -> list[float]:
    """The BM25 score of each document for `query` (0.0 when no query term occurs)."""
    return bm25_scores_of_counts(query, [term_counts(document) for document in documents])


def bm25_scores_of_counts(query: str, counts: Sequence[Mapping[str, int]]) -> list[float]:
    """`bm25_scores` of documents given by their `term_counts`."""
    wanted = query_terms(query)
    if not wanted or not counts:
        return [0.0] * len(counts)
    lengths = [sum(count.values()) for count in counts]
    average = (sum(lengths) / len(lengths)) or 1.0
    total = len(counts)
    idf = {}
    for term in wanted:
        holding = sum(1 for count in counts if term in count)
        idf[term] = math.log(1 + (total - holding + 0.5) / (holding + 0.5))
    scores = []
    for count, length in zip(counts, lengths, strict=True):
        score = 0.0
        for term in wanted:
            frequency = count.get(term, 0)
            if frequency:
                norm = K1 * (1 - B + B * length / average)
                score += idf[term] * frequency * (K1 + 1) / (frequency + norm)
        scores.append(score)
    return scores


def rank(query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
    """(index, score) of the documents that match, best first (ties: earlier first)."""
    return ranked(bm25_scores(query, documents))


def ranked(scores: Sequence[float]) -> list[tuple[int, float]]:
    """(index, score) of the positive scores, best first (ties: earlier first)."""
    matched = [(index, score) for index, score in enumerate(scores) if score > 0]
    return sorted(matched, key=lambda pair: (-pair[1], pair[0]))


def unit_score(score: float) -> float:
    """A BM25 score mapped into [0, 1), as the API reports scores: s / (s + 1)."""
    return round(score / (score + 1.0), 6)


def bm25_score(unit: float) -> float:
    """The BM25 score that `unit_score` mapped to `unit`."""
    return unit / (1.0 - unit) if unit < 1.0 else float("inf")


def _trim_around(sentence: str, wanted: list[str], limit: int) -> str:
    """At most `limit` characters of a long sentence, cut between words, starting a little
    before its first query term; an ellipsis marks each cut."""
    folded = sentence.casefold()
    hits = [folded.find(term) for term in wanted if term in folded]
    first = min(hits) if hits else 0
    start = max(0, first - limit // 4)
    if start:
        space = sentence.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = start + limit - 2
    if end < len(sentence):
        space = sentence.rfind(" ", start, end)
        end = space if space > start else end
    text = sentence[start:end].strip()
    return ("…" if start else "") + text + ("…" if end < len(sentence) else "")


def passage_quote(text: str, query: str, limit: int = 400) -> str:
    """The part of a chunk a reply quotes: whitespace collapsed, at most about `limit`
    characters, centred on the sentence that holds the most query terms and widened with
    its neighbours while it fits; a sentence longer than that is cut between words."""
    text = _HEADING.sub(_heading_as_lead_in, text)
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    # Sentences, and lines (a heading has no full stop), each with its whitespace collapsed.
    sentences = [
        " ".join(sentence.split())
        for line in text.splitlines()
        for sentence in _SENTENCE_END.split(line)
        if sentence.strip()
    ]
    wanted = query_terms(query)

    def hits(sentence: str) -> int:
        found = set(terms(sentence))
        return sum(1 for term in wanted if term in found)

    best = max(range(len(sentences)), key=lambda index: (hits(sentences[index]), -index))
    if len(sentences[best]) > limit:
        return _trim_around(sentences[best], wanted, limit)
    first = last = best
    length = len(sentences[best])
    grew = True
    while grew:
        grew = False
        # After, then before: a passage reads on from its best sentence.
        if last + 1 < len(sentences) and length + 1 + len(sentences[last + 1]) <= limit:
            last += 1
            length += 1 + len(sentences[last])
            grew = True
        if first > 0 and length + 1 + len(sentences[first - 1]) <= limit:
            first -= 1
            length += 1 + len(sentences[first])
            grew = True
    return " ".join(sentences[first : last + 1])
