"""Topic quality on the BBC News set (2,225 articles, five categories), with no training on it.

    python -m bench.topic_quality ../shared/data/bbc

Our IPTC top-level topics map onto the BBC's five categories; an article's prediction is the
mapped topic with the most evidence. Prints accuracy, per-class F1 and macro-F1.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from bench.data import read_bbc
from services.enrichment.topics import count_terms, topic_evidence
from shared.text.wordforms import stems

BBC_OF_IPTC = {
    "economy, business and finance": "business",
    "arts, culture, entertainment and media": "entertainment",
    "politics": "politics",
    "sport": "sport",
    "science and technology": "tech",
}


def predict(title: str, text: str) -> str:
    evidence = topic_evidence(count_terms(stems(title), stems(text)))
    best = max(BBC_OF_IPTC, key=lambda label: evidence[label])
    return BBC_OF_IPTC[best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    records = read_bbc(args.data_dir)
    pairs = [(r["category"], predict(r["title"], r["text"])) for r in records]
    accuracy = sum(gold == guess for gold, guess in pairs) / len(pairs)
    f1s = {}
    for label in sorted(set(BBC_OF_IPTC.values())):
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{label:14} precision {precision:.3f}  recall {recall:.3f}  F1 {f1s[label]:.3f}")
    confusion = Counter((g, p) for g, p in pairs if g != p)
    print("most confused (gold → predicted):",
          ", ".join(f"{g}→{p} {n}" for (g, p), n in confusion.most_common(5)))
    print(f"accuracy {accuracy:.3f}  macro-F1 {sum(f1s.values()) / len(f1s):.3f}  "
          f"({len(pairs)} articles, no training)")


if __name__ == "__main__":
    main()
