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

# Month names: English as the agencies write them (capitalised, matched as written, since
# "may" and "mar" are words), then German, French and Spanish, full and abbreviated, any case
# ("12 feb", "3 mars", "4. März", "12 de febrero de 2026").
_ENGLISH_MONTHS = [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
                   ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
                   ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
                   ("dec", "december")]
_OTHER_MONTHS = [
    ("januar", "jänner", "janvier", "janv", "enero", "ene"),
    ("februar", "février", "fevrier", "févr", "fév", "febrero"),
    ("märz", "mär", "mars", "marzo"),
    ("avril", "avr", "abril", "abr"),
    ("mai", "mayo"),
    ("juni", "juin", "junio"),
    ("juli", "juillet", "juil", "julio"),
    ("august", "août", "aout", "agosto", "ago"),
    ("septembre", "septiembre", "setiembre"),
    ("oktober", "okt", "octobre", "octubre"),
    ("novembre", "noviembre"),
    ("dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic"),
]
_MONTHS = {name: number for table in (_ENGLISH_MONTHS, _OTHER_MONTHS)
           for number, names in enumerate(table, start=1) for name in names}
_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"  # noqa: E501
# Any month name in any case, longest first (so "septiembre" is not read as "sep").
_ANY_MONTH = "(?P<month>(?i:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r"))\.?(?!\w)"
# "4. März 2026", "1er mars", "12 de febrero de 2026", "12 feb": the day first, as these
# languages write it.
_DAY_MONTH_OTHER = (rf"(?P<day>\d{{1,2}})(?:\.|er)?\s+(?:de\s+)?{_ANY_MONTH}"
                    r"(?:\s+(?:de\s+)?(?P<year>\d{4}))?")
_DATE_PATTERNS = [
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?\b"),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+(?P<year>\d{{4}}))?\b"),
    re.compile(rf"\b{_DAY_MONTH_OTHER}"),
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEKDAY = re.compile(rf"\b(?:on\s+|last\s+)?(?P<weekday>{'|'.join(_WEEKDAYS)})\b")

# Datelines as the agencies' style guides write them, one pattern for all:
#   Reuters   "SEOUL, March 4 (Reuters) - ", "LONDON/NEW YORK, March 4 (Reuters) - "
#   AP        "WASHINGTON (AP) — ", "ORLANDO, Fla. (AP) — ", "RIO DE JANEIRO (AP) — "
#   AFP       "PARIS (AFP) - ", "Kabul, Afghanistan (AFP) \u2013 " (an en dash)
#   Bloomberg "(Bloomberg) -- ", "NEW YORK (Bloomberg) -- "
#   dpa       "Berlin (dpa) - ", "Hamburg, 4. März (dpa) - "
#   Yonhap, Xinhua  "SEOUL, March 4 (Yonhap) -- "
#   Reuters in Spanish  "MADRID, 12 feb (Reuters) - "; AFP in French  "PARIS, 3 mars (AFP) - "
#   EFE       "BARCELONA, 4 sep (EFE).- "
#   PTI       "New Delhi, Mar 4 (PTI) " (no dash)   Indian papers  "NEW DELHI: "
#   any paper "LONDON — " (the byline on a line of its own)
# The head is the place, then optionally a region and a date, comma-separated; it is checked
# in code (`_read_head`), since a pattern cannot tell a place from a sentence's first words.
# One bounded lazy run, so a hostile lead costs at most ~90 tries of the rest.
_DATELINE = re.compile(
    r"^(?P<head>[^\W\d_][\w.,'’/ \-]{0,90}?)?"
    r"(?:\s*\((?P<agency>[^\W\d_][\w &.\-]{0,30})\)\s*(?P<agency_sep>--|\.-|[-–—:])?"
    r"|\s*(?P<sep>--|[-–—:]))\s+"
)
_MONTH_NAME = _MONTH.replace("?P<month>", "?:")
_DATE_PART = re.compile(
    rf"^(?:{_MONTH_NAME}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTH_NAME})(?:,?\s+\d{{4}})?$|^\d{{4}}$"
    rf"|^{_DAY_MONTH_OTHER.replace('?P<day>', '?:').replace('?P<month>', '?:').replace('?P<year>', '?:')}$")
# Agencies that file with no dash after their name; a parenthesis with no dash after it is
# otherwise the start of a sentence ("Officials (two of them) said").
_UNDASHED_AGENCIES = {"pti", "ians", "ani", "uni", "bss", "app", "nni"}
# All-caps labels that are not places: "UPDATE: ", "EXCLUSIVE - ", "ANALYSIS — ".
_NOT_PLACES = {"update", "updated", "updates", "breaking", "exclusive", "analysis", "opinion",
               "editorial", "live", "video", "photos", "watch", "comment", "review", "factbox",
               "explainer", "note", "correction", "corrected", "alert", "urgent", "flash",
               "warning", "advisory", "editors", "refile", "wrapup", "insight", "column",
               "interview", "feature", "preview", "timeline", "q&a", "poll", "sport", "sports"}
_PLACE_PARTICLES = {"de", "da", "do", "dos", "das", "du", "del", "la", "le", "el", "al", "of",
                    "on", "upon", "and", "es", "au", "aux", "sur", "en"}
_MAX_PLACE_WORDS = 5
_BYLINE = re.compile(r"^By\s+[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|and|de|van|von|der|al|bin))*"
                     r"(?:\s*,\s*[A-Z][\w .&'’-]{1,40})?$")

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
    agency = match.group("agency")
    sep = match.group("agency_sep") or match.group("sep")
    if agency and not sep and agency.casefold() not in _UNDASHED_AGENCIES:
        return None, lead
    place, date_text = _read_head(match.group("head"), titled_ok=agency is not None)
    rest = lead[match.end():]
    # A story starts after its dateline; "NATO — the alliance said" is a sentence.
    starts_story = rest[:1].isupper() or rest[:1].isdigit() or rest[:1] in "\"“‘'"
    if (place is None and (not agency or match.group("head"))) or not starts_story:
        return None, lead
    return Dateline(place=place, agency=agency, date_text=date_text), rest


def is_byline(line: str) -> bool:
    """"By Jane Doe", "By Jane Doe and John Roe, Reuters": a line that names the writers."""
    return len(line) <= 120 and _BYLINE.match(line.strip()) is not None


def byline_authors(line: str) -> list[str]:
    """"By Jane Doe and John Roe, Reuters" → ["Jane Doe", "John Roe"]."""
    names = line.strip()[3:].split(",")[0]
    return [name.strip() for name in re.split(r"\s+and\s+", names) if name.strip()]


def _read_head(head: str | None, titled_ok: bool) -> tuple[str | None, str | None]:
    """(place, date text) of a dateline's head, or (None, None) when it is not one. A place
    is in capitals ("RIO DE JANEIRO", "SÃO PAULO"), or in title case before an agency's name
    ("Berlin (dpa)"); a region may follow it ("ORLANDO, Fla.", "KABUL, Afghanistan")."""
    if head is None:
        return None, None
    parts = [part.strip() for part in head.split(",")]
    city, rest = parts[0], parts[1:]
    date_parts = [part for part in rest if _DATE_PART.match(part)]
    regions = [part for part in rest if not _DATE_PART.match(part)]
    letters = [c for c in city if c.isalpha()]
    words = city.replace("/", " ").split()
    if (len(letters) < 2 or len(words) > _MAX_PLACE_WORDS or len(regions) > 1
            or city.casefold() in _NOT_PLACES or any(len(part) == 0 for part in rest)):
        return None, None
    capitals = all(c.isupper() for c in letters)
    titled = all(w[0].isupper() or w.casefold() in _PLACE_PARTICLES for w in words)
    if not (capitals or (titled_ok and titled)):
        return None, None
    if regions and not (regions[0][:1].isupper() and len(regions[0].split()) <= 3):
        return None, None
    # Dates after the place: "March 4" then "2026" when the year is a part of its own.
    date_text = ", ".join(date_parts) or None
    name = _place_name(city) if capitals else city
    return (f"{name}, {regions[0]}" if regions else name), date_text


def _place_name(capitals: str) -> str:
    """"RIO DE JANEIRO" → "Rio de Janeiro", "PORT-AU-PRINCE" → "Port-au-Prince"."""
    def word(text: str, first: bool) -> str:
        pieces = text.split("-")
        return "-".join(p.lower() if (i or not first) and p.lower() in _PLACE_PARTICLES
                        else p.capitalize() for i, p in enumerate(pieces))
    return "/".join(" ".join(word(w, i == 0) for i, w in enumerate(part.split()))
                    for part in capitals.split("/"))


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
