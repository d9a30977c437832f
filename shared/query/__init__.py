"""newsflow's query language: one definition of each construct for search and for alerts.

    words                 all must match, in any word form ("sanction" finds "sanctions")
    "exact phrase"        the words one after another, in any word form
    a OR b, a | b         either
    a AND b, +a           both (AND is also what a space means)
    NOT a, -a             not
    ( … )                 grouping
    sanc*                 a word starting with "sanc", however many such words exist
    "peace talk*"         a phrase whose last word starts with "talk"
    Pyongyan~  word~1     a word within AUTO (0 edits up to 2 letters, 1 up to 5, else 2),
                          1 or 2 edits: a letter added, removed or changed, or two swapped
    "a b"~5               the words within 5 other words of each other, in any order
    a NEAR/5 b            the same for two words, prefixes or phrases
    title:word            in the title only; title:"a phrase", title:sanc*, title:a NEAR/3 b
    person: org: place:   a canonical entity name, its words in order ("org:U.N." finds United
                          Nations); person:Mac* a name with a word starting so; person:Macron~
    country:KP            ISO code or country name; topic:politics, topic:econ*;
                          source:Reuters (any case), source:Reu*; lang:en

Words, phrases and proximity match word forms (Snowball stems); prefixes and fuzzy words match
the words as written (lower-cased). Errors raise `QuerySyntaxError` with the position and the
reason.
"""

from shared.query.article import ArticleView
from shared.query.compiled import Query, snippet
from shared.query.constructs import Evidence
from shared.query.fields import FIELDS, TEXT, FieldSpec
from shared.query.subscription import NotExact, SubscriptionQuery
from shared.query.syntax import QuerySyntaxError

__all__ = ["FIELDS", "TEXT", "ArticleView", "Evidence", "FieldSpec", "NotExact", "Query",
           "QuerySyntaxError", "SubscriptionQuery", "snippet"]
