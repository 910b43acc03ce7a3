"""A tiny structured JSON logger (stdlib only).

One JSON object per line on stdout, which CloudWatch Logs stores as is and
Logs Insights parses field by field. It stands in for AWS Lambda Powertools'
Logger so the layer holds only Pillow and the cold start stays small.

Usage::

    log = bound("photo-processor")
    job_log = log.bind(photo_id=pid)      # keys bound once
    job_log.info("processed", ms=12.3)    # every line of the job carries photo_id

Only the fields callers bind or pass are logged: never photo bytes, never the
original file name (it may carry a tutor's or an animal's name).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

_request_id: str | None = None


def set_request_id(request_id: str | None) -> None:
    global _request_id
    _request_id = request_id


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "message": record.getMessage(),
        }
        if _request_id:
            entry["request_id"] = _request_id
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is now (so test capture works too)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def get_logger(service: str) -> logging.Logger:
    logger = logging.getLogger(service)
    if not logger.handlers:
        handler = _StdoutHandler(sys.stdout)
        handler.setFormatter(JsonFormatter(service))
        logger.addHandler(handler)
        # Not to the root logger: the Lambda runtime puts its own handler there.
        logger.propagate = False
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return logger


class BoundLogger:
    """A logger with fields bound once; ``bind`` returns a new one with more."""

    def __init__(self, logger: logging.Logger, fields: dict | None = None) -> None:
        self.logger = logger
        self.fields = dict(fields or {})

    def bind(self, **fields) -> BoundLogger:
        return BoundLogger(self.logger, {**self.fields, **fields})

    def _log(self, level: int, message: str, fields: dict) -> None:
        self.logger.log(level, message, extra={"fields": {**self.fields, **fields}})

    def info(self, message: str, **fields) -> None:
        self._log(logging.INFO, message, fields)

    def warning(self, message: str, **fields) -> None:
        self._log(logging.WARNING, message, fields)

    def error(self, message: str, **fields) -> None:
        self._log(logging.ERROR, message, fields)


def bound(service: str, **fields) -> BoundLogger:
    return BoundLogger(get_logger(service), fields)
