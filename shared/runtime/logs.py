"""Logging for every process: one format (text for a terminal, or one JSON object a line for a
cluster's log pipeline, by python-json-logger), and repeats held back.

During a broker outage the Kafka client logs the same connection error many times a second
(~78 lines/s were seen); `RepeatFilter` lets one line of a kind through per `every` seconds and
says how many it held back, so an outage costs a few lines a minute, not megabytes.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Keys a log pipeline expects: time, level and logger renamed to the usual field names.
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class RepeatFilter(logging.Filter):
    """Same logger, level and message template: at most one record per `every` seconds."""

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self.every = every
        self.clock = time.monotonic
        self.last: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        seen = self.last.get(key)
        if seen is not None and now - seen[0] < self.every:
            self.last[key] = (seen[0], seen[1] + 1)
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} ({seen[1]} similar lines held back)"
        if len(self.last) > 10_000:  # templates are few; this only bounds a pathological case
            self.last.clear()
        self.last[key] = (now, 0)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(FORMAT, rename_fields=JSON_RENAMES, timestamp=False)


def configure_logging(log_format: Literal["text", "json"] = "text", level: int = logging.INFO,
                      every: float = 10.0) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if log_format == "json":
            handler.setFormatter(json_formatter())
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter(every))
