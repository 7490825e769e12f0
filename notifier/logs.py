"""Structured logs: one JSON object per line on stderr (stdout belongs to the offline rendering).

Callers pass facts as keyword fields, never tokens or secrets; `Settings` keeps those as
`SecretStr`, so even an accidental `repr` prints stars.
"""

from __future__ import annotations

import json
import sys
from datetime import timezone

from loguru import logger

log = logger.bind(logger_name="notifier")


def _sink(message) -> None:
    record = message.record
    entry = {
        "time": record["time"].astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record["level"].name,
        "message": record["message"],
        "logger": record["extra"].get("logger_name", record["name"]),
        "service": "notifier",
    }
    entry.update({k: v for k, v in record["extra"].items() if k != "logger_name"})
    if record["exception"] is not None:
        entry["exception"] = f"{record['exception'].type.__name__}: {record['exception'].value}"
    sys.stderr.write(json.dumps(entry, default=str) + "\n")
    sys.stderr.flush()


def configure_logging(level: str = "INFO") -> None:
    logger.remove()
    logger.add(_sink, level=level)
