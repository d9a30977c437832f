"""Facts written in the text itself: the dateline, dates, and who said what.

Regular expressions over the paragraphs; cheap enough to run on every article. Every pass is
linear in the text and its results are capped (MAX_DATES, MAX_QUOTES), so a hostile article
with 20,000 dates or quotes costs no more than a long ordinary one.
"""

from __future__ import annotations

import bisect
import re
from datetime import date, datetime, timedelta

from shared.contracts.messages import Dateline, DateMention, Quote
from shared.text.names import full_name_in

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")], start=1)
    for name in names
}
_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"  # noqa: E501
_DATE_PATTERNS = [
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?\b"),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+(?P<year>\d{{4}}))?\b"),
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEKDAY = re.compile(rf"\b(?:on\s+|last\s+)?(?P<weekday>{'|'.join(_WEEKDAYS)})\b")

# "SEOUL, Dec 3 (Reuters) - ", "WASHINGTON (AP) — ", "LONDON — "
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’\- ]{1,40}?(?:,\s+[A-Z][A-Za-z.]+)?)"
    rf"(?:,\s+(?P<date>{_MONTH}\s+\d{{1,2}}(?:,\s+\d{{4}})?))?"
    r"\s*(?:\((?P<agency>[A-Za-z][\w &.\-]{0,30})\))?\s*[-–—]+\s+"
)

_QUOTE = re.compile(r"“(?P<curly>[^”]{2,}?)”|\"(?P<straight>[^\"]{2,}?)\"")
_SPEECH = r"(?:said|says|added|adds|told|asked|stated|explained|noted|warned|insisted|argued|wrote|continued|replied)"  # noqa: E501
_NAME = r"(?P<who>(?:[A-Z][\w.'’-]+)(?:\s+[A-Z][\w.'’-]+){0,3}|he|she|they|He|She|They)"
_AFTER_NAME_VERB = re.compile(rf"^[,\s]*{_NAME}\s+{_SPEECH}\b")
_AFTER_VERB_NAME = re.compile(rf"^[,\s]*{_SPEECH}\s+{_NAME}\b")
_BEFORE = re.compile(rf"{_NAME}\s+{_SPEECH}\b[^“\"]*$")
# The subject of the sentence the quote sits in: "Tillerson offered … and said it was "…""
_SUBJECT = re.compile(rf"^{_NAME}\b[^“\"]*?\b{_SPEECH}\b[^“\"]*$")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"”’]?\s+)(?=[A-Z“\"])")
_PRONOUNS = {"he", "she", "they"}
_CONTEXT_CHARS = 300  # how far from a quote its attribution is looked for
MAX_DATES = 200  # distinct date mentions kept per article
MAX_QUOTES = 200  # quotes kept per article (the first ones: a story's lead quotes matter most)
_MAX_MATCHES = 5_000  # matches of one pattern looked at, before distinct ones are counted


def _month_number(text: str) -> int:
    return int(text) if text.isdigit() else _MONTHS[text.lower().rstrip(".")]


def _to_date(match: re.Match[str], reference: date | None) -> date | None:
    year = match.group("year")
    if year is None and reference is None:
        return None
    try:
        found = date(int(year) if year else reference.year,  # type: ignore[union-attr]
                     _month_number(match.group("month")), int(match.group("day")))
    except ValueError:
        return None
    if year is None and reference and found > reference + timedelta(days=7):
        found = found.replace(year=found.year - 1)  # "Dec 30" in a January story
    return found


def find_dates(text: str, published: datetime | None) -> list[DateMention]:
    """Explicit dates normalised to ISO; weekdays resolved to the latest such day on or
    before the publication date (news says "Tuesday" for this week's Tuesday)."""
    reference = published.date() if published else None
    mentions: list[DateMention] = []
    starts: list[int] = []  # of the spans taken so far, sorted; the spans never overlap
    ends: list[int] = []
    for pattern in _DATE_PATTERNS:
        for count, match in enumerate(pattern.finditer(text)):
            if count >= _MAX_MATCHES:
                break
            at = bisect.bisect_right(starts, match.start())
            if at and match.start() < ends[at - 1]:
                continue  # inside a date an earlier pattern found
            starts.insert(at, match.start())
            ends.insert(at, match.end())
            mentions.append(DateMention(text=match.group(0), date=_to_date(match, reference)))
    for count, match in enumerate(_WEEKDAY.finditer(text)):
        if count >= _MAX_MATCHES:
            break
        weekday = _WEEKDAYS.index(match.group("weekday"))
        resolved = None
        if reference:
            resolved = reference - timedelta(days=(reference.weekday() - weekday) % 7)
        mentions.append(DateMention(text=match.group("weekday"), date=resolved))
    unique: dict[tuple[str, date | None], DateMention] = {}
    for mention in mentions:
        unique.setdefault((mention.text, mention.date), mention)
    return list(unique.values())[:MAX_DATES]


def parse_dateline(lead: str) -> tuple[Dateline | None, str]:
    """The dateline of a lead paragraph, and the lead without it."""
    match = _DATELINE.match(lead)
    if not match:
        return None, lead
    place = match.group("place").strip()
    # An all-caps place, or any place with an agency; not a sentence that starts with "A -".
    all_caps = re.sub(r"[\s,.]", "", place).isupper()
    if len(place) < 3 or not (all_caps or match.group("agency")):
        return None, lead
    return Dateline(place=place.title(), agency=match.group("agency"),
                    date_text=match.group("date")), lead[match.end():]


def find_quotes(paragraphs: list[str]) -> list[Quote]:
    """Direct quotations and their speakers: a name (or he/she, meaning the last named speaker)
    next to a speech verb right after or before the quote, else the paragraph's last speaker."""
    text = "\n".join(paragraphs)
    quotes: list[Quote] = []
    last_speaker: str | None = None
    full_names: dict[str, str] = {}  # one scan of the text per speaker, not per quote
    for paragraph in paragraphs:
        if len(quotes) >= MAX_QUOTES:
            break
        paragraph_speaker: str | None = None
        pending: list[Quote] = []
        for match in _QUOTE.finditer(paragraph):
            if len(quotes) >= MAX_QUOTES:
                break
            words = (match.group("curly") or match.group("straight")).strip()
            start, end = match.span()
            speaker = _speaker(paragraph[end:end + _CONTEXT_CHARS],
                               paragraph[max(0, start - _CONTEXT_CHARS):start], last_speaker)
            if speaker:
                if speaker not in full_names:
                    full_names[speaker] = full_name_in(text, speaker)
                speaker = full_names[speaker]
                paragraph_speaker = last_speaker = speaker
            quote = Quote(text=words.strip(" ,"), speaker=speaker)
            quotes.append(quote)
            if speaker is None:
                pending.append(quote)
        # A quote whose attribution comes later in the paragraph ("…" and "…," he said).
        for quote in pending:
            quote.speaker = paragraph_speaker
    return quotes


def _speaker(after: str, before: str, last_speaker: str | None) -> str | None:
    before, after = before[-_CONTEXT_CHARS:], after[:_CONTEXT_CHARS]  # bounded regex work
    starts = [0, *(m.end() for m in _SENTENCE_START.finditer(before))]
    sentence = before[starts[-1]:]
    match = (_AFTER_NAME_VERB.match(after) or _AFTER_VERB_NAME.match(after)
             or _BEFORE.search(before) or _SUBJECT.match(sentence))
    if not match:
        return None
    who = match.group("who")
    if who.lower() in _PRONOUNS:
        return last_speaker
    # A capitalised sentence start like "The UN political chief" is not a name.
    return None if who.split()[0] in {"The", "A", "An", "It", "This", "That"} else who
