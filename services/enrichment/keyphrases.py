"""Keyphrases: the noun phrases an article is about, ranked by PositionRank.

Candidates are noun phrases read off spaCy's part-of-speech tags, on the document NER already
made: adjectives and nouns ending on a noun ("nuclear and ballistic missile programs"), never
cutting a named entity, never holding a date, a time or a quantity. Their words are ranked by
PositionRank (Florescu & Caragea, ACL 2017): PageRank over the graph of words that occur near
each other, its random jumps biased towards words that come early, as a story's subject does.
A phrase scores the sum of its words. What we add is what a reader expects of the list: no
phrase that repeats one ranked above it, and a lone common noun only when the article keeps
coming back to it.

Why not a library as it is: YAKE read the first 400 characters only, for cost, and gave
fragments ("Feltman told", "senior North"); pytextrank's PositionRank needs the dependency
parser and lemmatizer (187 ms an article with NER against 108 ms for this, on 200 BBC articles)
and matched the titles less well (bench/keyword_quality.py). The tagger reuses the tok2vec
layer the NER pipeline computed anyway; PageRank is a power iteration on a scipy matrix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import sparse

from shared.contracts.messages import Keyword
from shared.text.names import is_role
from shared.text.wordforms import stem_words

KEYPHRASES = 10
SINGLE_NOUN_MIN = 3  # mentions a lone common noun needs ("profits", not "lid")
MAX_PHRASE_WORDS = 6
WINDOW = 3  # words linked when this close among the candidates' words, as in the paper
_NOUN = {"NN", "NNS", "NNP", "NNPS"}
# Modifiers of a noun: adjectives, other nouns, participles ("advancing", "unfrozen").
_MODIFIER = _NOUN | {"JJ", "JJR", "JJS", "VBN", "VBG", "HYPH"}
# Entities that are not a subject: "Tuesday", "last week", "15 hours", "$5bn", "third".
_NOT_SUBJECT = {"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}
# Adjectives that only point at or count the head ("other officials", "own plans").
_POINTERS = {"other", "such", "own", "many", "much", "more", "most", "few", "several", "various",
             "same", "certain", "last", "next", "previous", "former", "further", "new", "latest"}

# "Mr Balls" is a person the NER missed, not a subject.
_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "lord", "lady"}


def keyphrases(doc: Any, title_chars: int = 0) -> list[Keyword]:
    """The top phrases of a document tagged by an English pipeline (`services.enrichment.pipelines`), whose
    first `title_chars` characters are the headline."""
    phrases: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for span in [*noun_phrases(doc), *people(doc)]:
        phrases[_key(span)].append(span)
    _merge_short_names(phrases)
    # A headline's words rank (they come first), but the tagger reads a title-case headline
    # as a run of proper nouns ("Adviser Urges UN Chief"): a phrase must occur in the text.
    phrases = defaultdict(list, {key: spans for key, spans in phrases.items()
                                 if any(span.start_char >= title_chars for span in spans)})
    if not phrases:
        return []
    word_rank = position_rank([stem for key in _in_order(phrases) for stem in key])
    scored = sorted(phrases, key=lambda key: (-sum(word_rank[s] for s in key), key))
    top = sum(word_rank[s] for s in scored[0]) or 1.0
    chosen: list[tuple[str, float, frozenset[str]]] = []
    for key in scored:
        spans = phrases[key]
        if len(key) == 1 and spans[0][0].tag_ in {"NN", "NNS"} and len(spans) < SINGLE_NOUN_MIN:
            continue
        stem_set = frozenset(key)
        # Covered by a phrase ranked higher: "media giant" after "US media giant TimeWarner",
        # "missile programs" after "ballistic missile programs".
        if any(stem_set <= kept for _, _, kept in chosen):
            continue
        score = sum(word_rank[s] for s in key) / top
        chosen.append((spans[0].text, score, stem_set))
        if len(chosen) == KEYPHRASES:
            break
    return [Keyword(text=text, score=max(0.001, round(score, 3))) for text, score, _ in chosen]


def noun_phrases(doc: Any) -> Iterator[Any]:
    """Maximal runs of modifiers ending on a noun, split where an entity would be cut."""
    run: list[Any] = []
    for token in [*doc, None]:
        if token is not None and _modifies(token, run):
            run.append(token)
            continue
        if run:
            yield from _phrase_of(doc, run)
        run = [token] if token is not None and _modifies(token, []) else []


def people(doc: Any) -> Iterator[Any]:
    """Each person's name as NER found it, without the titles before it ("Secretary of State
    Rex Tillerson" → "Rex Tillerson"): a name is a phrase of its own, never a phrase's part."""
    for ent in doc.ents:
        if ent.label_ != "PERSON" or "\n" in ent.text:
            continue
        tokens = [t for t in ent if t.tag_ != "POS"]
        while tokens and (is_role(tokens[0].text) or tokens[0].lower_ == "of"
                          or tokens[0].lower_.rstrip(".") in _HONORIFICS):
            tokens = tokens[1:]
        if tokens and tokens[0].text[:1].isupper() and tokens[-1].tag_ in _NOUN:
            yield doc[tokens[0].i: tokens[-1].i + 1]


def _key(span: Any) -> tuple[str, ...]:
    return tuple(stem_words([t.text.casefold() for t in span]))


def _merge_short_names(phrases: dict[tuple[str, ...], list[Any]]) -> None:
    """"Feltman" counts for "Jeffrey Feltman" when he is the only Feltman named: no name is
    listed beside a half of it."""
    names = [key for key, spans in phrases.items() if spans[0].label_ == "PERSON"]
    for short in [key for key in names if len(key) == 1]:
        fulls = [key for key in names if len(key) > 1 and short[0] in key]
        if len(fulls) == 1:
            phrases[fulls[0]].extend(phrases.pop(short))


def _modifies(token: Any, run: list[Any]) -> bool:
    # People have their own list; a phrase around a name is a title or a fragment.
    if token.ent_type_ in _NOT_SUBJECT or token.ent_type_ == "PERSON" or "\n" in token.text:
        return False
    if token.tag_ == "HYPH" and (token.whitespace_ or not run or run[-1].whitespace_):
        return False  # a dash between words, not a hyphen inside one
    if token.tag_ in {"VBN", "VBG"} and run and run[-1].tag_ in _NOUN:
        return False  # after its noun a participle is a verb ("bus transporting papers")
    if token.tag_ in _MODIFIER:
        # A name right after another name starts a phrase of its own.
        return not (run and token.ent_iob_ == "B" and run[-1].ent_type_)
    # "nuclear and ballistic": a conjunction between two modifiers.
    return (token.tag_ == "CC" and bool(run) and run[-1].tag_ in {"JJ", "JJR", "JJS"}
            and token.i + 1 < len(token.doc) and token.doc[token.i + 1].tag_ in {"JJ", "JJR", "JJS"})


def _phrase_of(doc: Any, run: list[Any]) -> Iterator[Any]:
    # A title before a name is not a subject ("Vice Minister" Pak Myong Guk, "Mr" Brown).
    before_person = bool(run) and run[-1].i + 1 < len(doc) and doc[run[-1].i + 1].ent_type_ == "PERSON"
    while run and (run[-1].tag_ not in _NOUN or (before_person and is_role(run[-1].text))):
        run = run[:-1]
    while run and (run[0].tag_ in {"HYPH", "CC"} or run[0].text.casefold() in _POINTERS
                   or _cut_at_start(run[0]) or _verb_before_object(run[0])):
        run = run[1:]
    if run and len(run) <= MAX_PHRASE_WORDS and not _cut_at_end(run[-1]) and any(
            c.isalpha() for c in run[-1].text) and not any(
            t.text.casefold().rstrip(".") in _HONORIFICS for t in run):
        yield doc[run[0].i: run[-1].i + 1]


def _verb_before_object(token: Any) -> bool:
    """A participle opens a noun phrase only after a determiner or modifier ("the rapidly
    advancing programs"); elsewhere it is a verb ("helping disabled riders")."""
    if token.tag_ not in {"VBN", "VBG"}:
        return False
    previous = token.doc[token.i - 1] if token.i else None
    return previous is None or previous.tag_ not in {"DT", "PRP$", "POS", "JJ", "CD"}


def _cut_at_start(token: Any) -> bool:
    return token.ent_iob_ == "I"


def _cut_at_end(token: Any) -> bool:
    following = token.doc[token.i + 1] if token.i + 1 < len(token.doc) else None
    return following is not None and following.ent_iob_ == "I"


def _in_order(phrases: dict[tuple[str, ...], list[Any]]) -> list[tuple[str, ...]]:
    """Every occurrence's stems, in document order."""
    occurrences = sorted((span.start, key) for key, spans in phrases.items() for span in spans)
    return [key for _, key in occurrences]


def position_rank(in_order: list[str], damping: float = 0.85, tolerance: float = 1e-6,
                  max_iterations: int = 100) -> dict[str, float]:
    """PageRank over co-occurrence within WINDOW words (the candidates' words, in document
    order), its jumps going to a word in proportion to the sum of 1/position over its
    occurrences. Power iteration on a sparse matrix, as networkx's pagerank does (same
    damping, tolerance and dangling-word rule), without its per-call conversions, which
    cost more than the rest of the keyphrases together."""
    index = {word: i for i, word in enumerate(dict.fromkeys(in_order))}
    n = len(index)
    ids = np.fromiter((index[word] for word in in_order), dtype=np.int64, count=len(in_order))
    pairs = [(ids[:-offset], ids[offset:]) for offset in range(1, WINDOW) if offset < len(ids)]
    left = np.concatenate([a[a != b] for a, b in pairs] or [np.empty(0, np.int64)])
    right = np.concatenate([b[a != b] for a, b in pairs] or [np.empty(0, np.int64)])
    # Undirected: each co-occurrence adds 1 both ways (duplicates are summed).
    weights = sparse.csr_matrix((np.ones(2 * len(left)), (np.concatenate([left, right]),
                                                          np.concatenate([right, left]))),
                                shape=(n, n))
    out_weight = np.asarray(weights.sum(axis=1)).ravel()
    dangling = out_weight == 0
    transition = (sparse.diags(np.divide(1.0, out_weight, out=np.zeros(n), where=~dangling))
                  @ weights).T.tocsr()
    bias = np.zeros(n)
    np.add.at(bias, ids, 1.0 / np.arange(1, len(ids) + 1))
    bias /= bias.sum()
    rank = bias.copy()
    for _ in range(max_iterations):
        previous = rank
        rank = damping * (transition @ previous + previous[dangling].sum() * bias) + (1 - damping) * bias
        if np.abs(rank - previous).sum() < n * tolerance:
            break
    return dict(zip(index, rank.tolist(), strict=True))
