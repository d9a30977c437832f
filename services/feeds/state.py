"""What the poller remembers across restarts: each feed's HTTP validators and the entries it has
already published. SQLite, because it is in the standard library and survives a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
create table if not exists feeds (
    url text primary key,
    etag text,
    last_modified text
);
create table if not exists published (
    feed_url text not null,
    entry_key text not null,
    article_id text not null,
    published_at text not null default (datetime('now')),
    primary key (feed_url, entry_key)
);
"""


class FeedState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.executescript(_SCHEMA)

    def validators(self, feed_url: str) -> tuple[str | None, str | None]:
        row = self.db.execute("select etag, last_modified from feeds where url = ?",
                              (feed_url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_validators(self, feed_url: str, etag: str | None, last_modified: str | None) -> None:
        with self.db:
            self.db.execute(
                "insert into feeds (url, etag, last_modified) values (?, ?, ?) "
                "on conflict(url) do update set etag = excluded.etag, "
                "last_modified = excluded.last_modified",
                (feed_url, etag, last_modified),
            )

    def is_published(self, feed_url: str, entry_key: str) -> bool:
        return self.db.execute(
            "select 1 from published where feed_url = ? and entry_key = ?", (feed_url, entry_key)
        ).fetchone() is not None

    def mark_published(self, feed_url: str, entry_key: str, article_id: str) -> None:
        with self.db:  # committed at once: a crash after this never republishes the entry
            self.db.execute(
                "insert or ignore into published (feed_url, entry_key, article_id) values (?, ?, ?)",
                (feed_url, entry_key, article_id),
            )

    def close(self) -> None:
        self.db.close()
