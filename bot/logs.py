"""Logging setup: plain text or one JSON object a line (`carebot --log-format json …`), each record
carrying the id of the Slack request it belongs to (the id a person's error message quotes)."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import uuid

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("carebot_request_id", default=None)
REQUEST_ID_HEADER = "X-Carebot-Request-Id"  # set by our WSGI layer on each request, read by Bolt middleware


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "message", "request_id"?, "exc"?} — one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Dropped(logging.Filter):
    """Lines that say nothing an operator can use, every time: Alembic's "Context impl SQLiteImpl." and "Will
    assume non-transactional DDL." (each start, each /readyz), Bolt's note that the client we give it carries
    the token."""

    NOISE = ("Context impl ", "Will assume ", "As you gave `client` as well")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOISE)


def quiet_noise() -> None:
    """Attach the filter to the loggers that repeat themselves, and keep APScheduler's executors (a line per
    run of every job, the outbox's every 2 s) to warnings and errors. Idempotent."""
    for name in ("alembic.runtime.migration", "slack_bolt.App"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Dropped) for f in logger.filters):
            logger.addFilter(_Dropped())
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)


def configure(level: int, log_format: str = "text") -> None:
    """Root logging for the `carebot` command: `text` (human) or `json` (one object a line, on stderr)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_noise()
