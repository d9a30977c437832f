"""Structure from plain text: title, dek, section headings, disclaimer, related items, body.

Wire copy and machine-written digests arrive as lines of text. Their structure is in the shape
of the lines: a short line with no closing full stop is a title or a heading, a line that says
the text is AI-generated is a disclaimer, and everything after "Related Articles" is not body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.extraction.text_facts import is_byline, parse_dateline
from shared.text.sentences import split_sentences

_MAX_TITLE_CHARS = 200
_MAX_HEADING_WORDS = 12
_MAX_DEK_CHARS = 300
_DERIVED_TITLE_WORDS = 14

# An abbreviation at the end of a line ("U.N.", "U.S.") is not a sentence's full stop.
_TRAILING_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.){2,}$|\b(?:Inc|Corp|Ltd|Co|Jr|Sr|St)\.$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_DISCLAIMER = re.compile(
    r"\b(AI[- ]generated|generated (?:by|with|using) (?:AI|artificial intelligence)|"
    r"written (?:by|with) (?:AI|artificial intelligence))\b",
    re.IGNORECASE,
)
_RELATED_HEADER = re.compile(
    r"^(related (articles|stories|coverage|news|content)|read more|more on this story|"
    r"see also|you may also like)\s*:?$",
    re.IGNORECASE,
)
_SMALL_WORDS = frozenset(
    ["a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or",
     "the", "to", "with", "vs"]
)


@dataclass
class TextStructure:
    title: str
    title_derived: bool
    subtitle: str | None
    lead: str | None
    paragraphs: list[str]
    headings: list[str] = field(default_factory=list)
    disclaimer: str | None = None
    related: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def ends_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line)) and not _TRAILING_ABBREVIATION.search(line)


def looks_like_heading(line: str) -> bool:
    """Short, title-cased, and not a sentence."""
    words = line.split()
    if not words or len(words) > _MAX_HEADING_WORDS or ends_sentence(line):
        return False
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    capitalised = sum(1 for w in content if w[:1].isupper() or w[:1].isdigit())
    return bool(content) and capitalised / len(content) >= 0.6


def first_sentence(text: str) -> str:
    return split_sentences(text.strip(), maxsplit=1)[0]


def derive_title(lead: str) -> str:
    """A title made from the lead's first sentence, cut at a word boundary."""
    sentence = first_sentence(lead).rstrip(".")
    words = sentence.split()
    if len(words) <= _DERIVED_TITLE_WORDS:
        return sentence
    return " ".join(words[:_DERIVED_TITLE_WORDS]).rstrip(",;:") + "…"


def parse_plain_text(text: str) -> TextStructure:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError("the text is empty")

    related: list[str] = []
    for index, line in enumerate(lines):
        if _RELATED_HEADER.match(line):
            related, lines = lines[index + 1 :], lines[:index]
            break

    disclaimer = None
    kept = []
    for line in lines:
        if disclaimer is None and _DISCLAIMER.search(line) and len(line) < 400:
            disclaimer = line
        else:
            kept.append(line)
    lines = kept
    if not lines:
        raise ValueError("no article text besides boilerplate")

    title_derived = not (
        len(lines) > 1 and len(lines[0]) <= _MAX_TITLE_CHARS and not ends_sentence(lines[0])
    )
    title = lines[0] if not title_derived else ""
    rest = lines if title_derived else lines[1:]

    subtitle = None
    # A one-sentence line right under the title, followed by more text, is the dek; not when
    # it opens with a dateline ("WASHINGTON (AP) — …" is the story's lead) or is a byline.
    if not title_derived and len(rest) > 1 and len(rest[0]) <= _MAX_DEK_CHARS \
            and first_sentence(rest[0]) == rest[0] and not looks_like_heading(rest[0]) \
            and parse_dateline(rest[0])[0] is None and not is_byline(rest[0]):
        subtitle, rest = rest[0], rest[1:]

    headings: list[str] = []
    paragraphs: list[str] = []
    for index, line in enumerate(rest):
        followed_by_text = index + 1 < len(rest)
        if followed_by_text and paragraphs and looks_like_heading(line):
            headings.append(line)
        else:
            paragraphs.append(line)
    if not paragraphs:
        raise ValueError("no body paragraphs found")

    lead = paragraphs[0]
    if title_derived:
        title = derive_title(lead)
    return TextStructure(
        title=title, title_derived=title_derived, subtitle=subtitle, lead=lead,
        paragraphs=paragraphs, headings=headings, disclaimer=disclaimer, related=related,
    )
