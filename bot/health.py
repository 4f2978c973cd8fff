"""What an operator's probes and Prometheus see: `GET /healthz` (live), `GET /readyz` (ready, or 503 with
the reasons), `GET /metrics`.

Ready means: the database answers, its migrations are at head, the scheduler ticked within
SCHEDULER_STALE (2 minutes), and the outbox is not stuck (nothing to deliver has waited longer than
OUTBOX_STUCK)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import inspect, text

from bot import metrics
from bot.services.core import Services
from storage.migrate import code_heads

SCHEDULER_STALE = dt.timedelta(minutes=2)
OUTBOX_STUCK = dt.timedelta(minutes=15)


@dataclass
class Health:
    """This process's probe state. `wall` is the real time (probes are about real minutes, not a team's clock)."""

    services: Services
    expects_scheduler: bool = True
    wall: Callable[[], float] = time.time
    started: float = field(default_factory=time.time)
    heads: set[str] | None = None  # the code's migration heads (serve: from its migration child); None: read here
    last_tick: float | None = None
    stopping: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def tick(self) -> None:
        """The scheduler calls this at each run of a job."""
        with self._lock:
            self.last_tick = self.wall()

    def problems(self) -> list[str]:
        """Why this process is not ready; empty when it is."""
        if self.stopping:
            return ["shutting down"]
        reasons: list[str] = []
        try:
            current = self._current_heads()
        except Exception as exc:  # noqa: BLE001 - the reason is the answer
            return [f"database does not answer: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"]
        head = self.heads if self.heads is not None else code_heads(self.services.db.url)
        if current != head:
            return [f"migrations not at head: database {sorted(current) or 'empty'}, code {sorted(head)} "
                    "(run `carebot db upgrade`)"]  # the other checks read tables that may not exist yet
        if self.expects_scheduler:
            since = self.wall() - (self.last_tick if self.last_tick is not None else self.started)
            if since > SCHEDULER_STALE.total_seconds():
                reasons.append(f"scheduler has not run for {int(since)} s")
        reasons.extend(self._outbox_problems())
        return reasons

    def _current_heads(self) -> set[str]:
        """The database's Alembic revisions, read from its version table (no MigrationContext: it logs two INFO
        lines each time, and /readyz is called every few seconds)."""
        with self.services.db.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return set()
            return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())

    def _outbox_problems(self) -> list[str]:
        from bot.services.outbox import stuck_reason

        try:
            reason = stuck_reason(self.services, OUTBOX_STUCK)
        except Exception as exc:  # noqa: BLE001 - the reason is the answer
            return [f"outbox unreadable: {type(exc).__name__}"]
        return [reason] if reason else []


def ops_routes(health: Health | None) -> Callable:
    """A WSGI callable for the operator routes, or None for any other path (kept apart from Bolt's routes)."""

    def route(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/healthz" and "ready" not in (environ.get("QUERY_STRING") or ""):
            return _answer(start_response, "200 OK", b"ok")
        if path == "/readyz" or path == "/healthz":
            if health is None:
                return _answer(start_response, "503 Service Unavailable", b"not ready: no readiness probe")
            problems = health.problems()
            if problems:
                return _answer(start_response, "503 Service Unavailable",
                               ("not ready: " + "; ".join(problems)).encode())
            return _answer(start_response, "200 OK", b"ready")
        if path == "/metrics":
            if health is not None:
                refresh_outbox_gauges(health.services)
            return _answer(start_response, "200 OK", metrics.exposition(),
                           "text/plain; version=0.0.4; charset=utf-8")
        return None

    return route


def refresh_outbox_gauges(services: Services) -> None:
    from bot.services.outbox import depth

    try:
        counts, oldest = depth(services)
    except Exception:  # noqa: BLE001 - a scrape never fails on the database; the gauges keep their last value
        return
    for status in ("pending", "unknown", "failed", "refused"):
        metrics.OUTBOX_DEPTH.labels(status).set(counts.get(status, 0))
    metrics.OUTBOX_OLDEST.set(oldest)


def _answer(start_response, status: str, body: bytes, content_type: str = "text/plain; charset=utf-8"):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
