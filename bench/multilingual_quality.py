"""Entities, countries, topics and datelines in English, German, French and Spanish, against the
marks a reader made on tests/data/multilingual_<language>.jsonl (15 wire stories a language, in
Reuters, AP, AFP, dpa and EFE styles: the people, organisations and countries named, the
topic, the dateline's place).

    python -m bench.multilingual_quality [--rounds 3]

Each story goes through the real pure steps, extraction then enrichment, its language
detected as in the pipeline. Per language it prints: precision and recall of people (a
person is right when the name matches a marked one, case aside), the spans taken for people
that name nobody and nothing the story names ("non-name spans"), precision and recall of
countries, the share of stories whose first topic is the marked one and of stories with any
topic, and of datelines whose place is the marked one; then enrichment speed per language
and the peak memory of one process with every language's models loaded. The goals (people
precision >= 0.9 where a model runs, no non-name span as a person, country recall >= 0.9,
every story with a topic) are checked at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.enrichment import pipelines
from services.enrichment.enrich import analyse, warm
from services.extraction.extract import extract_article
from shared.contracts.messages import EnrichedArticle, RawArticle
from shared.text.languages import LANGUAGES

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def stories(language: str) -> list[dict[str, Any]]:
    with (DATA / f"multilingual_{language}.jsonl").open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def enrich(story: dict[str, Any], n: int) -> EnrichedArticle:
    raw = RawArticle(article_id=f"m{n}", format="fields", title=story["title"], body=story["body"])
    return analyse(extract_article(raw))


@dataclass
class Tally:
    right: int = 0
    found: int = 0
    marked: int = 0
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, found: set[str], marked: set[str]) -> None:
        self.right += len(found & marked)
        self.found += len(found)
        self.marked += len(marked)
        self.wrong += sorted(found - marked)
        self.missed += sorted(marked - found)

    @property
    def precision(self) -> float | None:
        return self.right / self.found if self.found else None

    @property
    def recall(self) -> float:
        return self.right / self.marked if self.marked else 1.0


def _fold(names: list[str]) -> set[str]:
    return {" ".join(name.casefold().split()) for name in names}


def is_name_of_something(span: str, story: dict[str, Any]) -> bool:
    """Whether every word of the span is a word of a name the story marks (a person's surname,
    an organisation's): a partial name, not a fragment of a sentence."""
    words = set(span.casefold().split())
    return any(words <= set(name.casefold().split())
               for name in story["people"] + story["organizations"])


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (the median is printed)")
    args = parser.parse_args()
    started = time.perf_counter()
    warm()
    loaded_seconds = time.perf_counter() - started
    loaded_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    goals: list[tuple[str, bool]] = []
    print(f"{'lang':4} {'NER model':22} {'people P':>8} {'R':>5} {'non-name':>8} {'countries P':>11} "
          f"{'R':>5} {'topic acc':>9} {'w/ topic':>8} {'dateline':>8}")
    speeds: dict[str, float] = {}
    for language in LANGUAGES:
        data = stories(language)
        people, countries = Tally(), Tally()
        non_names: list[str] = []
        topic_right = with_topic = dateline_right = 0
        detected: set[str | None] = set()
        for n, story in enumerate(data):
            article = enrich(story, n)
            detected.add(article.language)
            found_people = _fold([p.name for p in article.people])
            people.add(found_people, _fold(story["people"]))
            non_names += [p for p in sorted(found_people - _fold(story["people"]))
                          if not is_name_of_something(p, story)]
            countries.add({c.code for c in article.countries}, set(story["countries"]))
            top = [t.label for t in article.topics if t.parent is None]
            with_topic += bool(top)
            topic_right += bool(top) and top[0] == story["topic"]
            place = article.dateline.place if article.dateline else None
            dateline_right += (place or "").casefold() == story["dateline"].casefold()
        rounds = []
        for _ in range(args.rounds):
            tick = time.perf_counter()
            for n, story in enumerate(data):
                enrich(story, n)
            rounds.append(len(data) / (time.perf_counter() - tick))
        speeds[language] = statistics.median(rounds)
        pipeline = pipelines.for_language(language)
        model = pipeline.model if pipeline else "none (no facets)"
        total = len(data)
        recall = _fmt(people.recall if pipeline else None)
        print(f"{language:4} {model:22} {_fmt(people.precision):>8} {recall:>5} "
              f"{len(non_names):8d} {_fmt(countries.precision):>11} {countries.recall:5.2f} "
              f"{topic_right / total:9.2f} {with_topic / total:8.2f} {dateline_right / total:8.2f}")
        if detected != {language}:
            print(f"     detected as {sorted(map(str, detected))}")
        if people.wrong:
            print(f"     people not marked: {people.wrong}")
        if non_names:
            print(f"     non-name spans as people: {non_names}")
        print(f"     countries not marked: {countries.wrong}; missed: {countries.missed}")
        if pipeline:
            print(f"     people missed: {people.missed}")
        if pipeline:
            goals.append((f"{language}: people precision >= 0.9", (people.precision or 0) >= 0.9))
        goals.append((f"{language}: no non-name span as a person", not non_names))
        goals.append((f"{language}: country recall >= 0.9", countries.recall >= 0.9))
        goals.append((f"{language}: every story with a topic", with_topic == total))

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print("enrichment speed (articles/s, median of "
          f"{args.rounds}): " + ", ".join(f"{lang} {speed:.1f}" for lang, speed in speeds.items()))
    print(f"every model loaded at start ({', '.join(p.model for p in pipelines.PIPELINES.values())}, "
          f"3 gazetteers, 4 lexicons): {loaded_seconds:.1f} s, {loaded_mib:.0f} MiB; "
          f"peak of this one process after all stories {peak_mib:.0f} MiB")
    goals.append(("one process with every model loaded <= 1024 MiB", peak_mib <= 1024))
    print()
    for goal, met in goals:
        print(f"  {'met ' if met else 'MISSED'}  {goal}")


if __name__ == "__main__":
    main()
