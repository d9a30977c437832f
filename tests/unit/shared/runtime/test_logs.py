"""Repeated log lines are held back and counted, so an outage does not flood the logs."""

from __future__ import annotations

import logging

from shared.runtime.logs import RepeatFilter


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, msg, args, None)


def test_one_line_of_a_kind_per_interval_and_the_count_of_the_rest() -> None:
    now = [100.0]
    repeats = RepeatFilter(every=10.0)
    repeats.clock = lambda: now[0]
    assert repeats.filter(record("Unable connect to node %s", 1))
    held = [repeats.filter(record("Unable connect to node %s", n)) for n in range(78)]
    assert not any(held)
    assert repeats.filter(record("another message"))  # other kinds are not held back
    now[0] += 10.5
    line = record("Unable connect to node %s", 1)
    assert repeats.filter(line)
    assert line.getMessage() == "Unable connect to node 1 (78 similar lines held back)"


def test_json_lines_carry_time_level_logger_message_and_extras() -> None:
    import io
    import json

    from shared.runtime.logs import json_formatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger("newsflow.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("bulk request waited %d s", 3, extra={"stage": "indexing"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["level"] == "WARNING" and line["logger"] == "newsflow.test.json"
    assert line["message"] == "bulk request waited 3 s" and line["stage"] == "indexing"
    assert line["time"][:2] == "20"
