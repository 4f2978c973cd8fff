"""`carebot serve` until SIGTERM (or SIGINT), then an orderly stop:

1. /readyz answers 503 "shutting down" and the listening socket is closed: no new requests;
2. the scheduler stops and waits for the job under way (the current sweep, the morning list, the outbox);
3. requests in flight get their answer, and listeners already acked (Bolt runs them after the ack) finish;
4. the process exits 0.
Whatever a SIGKILL interrupts instead is caught by the claims and the outbox (bot/services/outbox.py)."""

from __future__ import annotations

import logging
import signal
import threading
import time

from waitress import wasyncore
from waitress.server import create_server

from bot.request_gate import MAX_BODY

log = logging.getLogger(__name__)


def serve_until_stopped(wsgi, *, host: str, port: int, threads: int, scheduler, bolt_app, health,
                        drain_seconds: float = 30.0) -> None:
    # a request body over the gate's limit is cut by waitress before it is buffered; a connection silent for
    # 15 s is closed (checked every 5 s), so idle or trickling clients cannot hold waitress's 100 connections
    server = create_server(wsgi, host=host, port=port, threads=threads, max_request_body_size=MAX_BODY + 1,
                           channel_timeout=15, cleanup_interval=5)
    stopping = threading.Event()

    def drain() -> None:
        deadline = time.monotonic() + drain_seconds
        scheduler.shutdown(wait=True)
        dispatcher = server.task_dispatcher
        while (dispatcher.active_count or dispatcher.queue) and time.monotonic() < deadline:
            time.sleep(0.05)
        bolt_app.listener_runner.listener_executor.shutdown(wait=True)
        log.info("in-flight requests, listeners and jobs finished; exiting")
        server.trigger.pull_trigger(lambda: [channel.close() for channel in list(server._map.values())])

    def on_signal(signum, _frame) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("%s: no new requests; finishing what is under way", signal.Signals(signum).name)
        health.stopping = True
        server.accepting = False  # not selected for reading any more; closed from inside the loop, where it is safe
        server.trigger.pull_trigger(lambda: wasyncore.dispatcher.close(server))
        threading.Thread(target=drain, name="carebot-drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.start()
    server.run()
