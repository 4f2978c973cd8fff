"""After-ack work in worker processes (issue 14): the page of `/care due` and the App Home refreshes are built
outside the serving process, so they never hold the GIL the next request's ack needs.

`carebot serve` starts `CAREBOT_WORKERS` (default 2) worker processes beside itself (spawned, not forked: each
imports the bot afresh and opens its own database engine), at a lower CPU priority (nice +10) than the process
that acks. A job is plain data: a kind ("care", "home"), the request's moment (`now`, read from the serving
process's clock: the page is as of the moment the person asked), its request id (logs and error messages quote
it) and pickled arguments (the person as an `Actor`, the command's body). The worker runs the same handler code
the serving process would (handlers/commands.py `run_care`, handlers/home.py `publish_now`): it answers the person
through response_url, reports its own errors to them through the one error path (handlers/errors.py `report`)
and logs in the serving process's format to the same stderr.

What is not more fragile than the in-process queue it replaces: a job lives only in memory, as before (a listener
acked and not finished when the process died was lost then too; the durable effects go through the outbox and
the delivery claims, which are in the database). A worker that dies mid-job (killed, out of memory) is replaced;
the person whose job it was is told something went wrong, with a reference (`on_lost`). Workers ignore SIGINT and
SIGTERM (the serving process stops them in order, after their queue: bot/shutdown.py) and exit by themselves
within a second when the serving process is gone (SIGKILL), so none is left behind.

`workers=0` (the test suite's in-process apps, `CAREBOT_WORKERS=0`) keeps everything in the serving process, on
the after-ack threads of bot/background.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bot.logs import REQUEST_ID

log = logging.getLogger(__name__)

WORKER_NICE = 10  # the acks' process wins a contested core ~9 times in 10 (CFS weights 1024 : 110)
START_TIMEOUT = 60.0  # seconds `carebot serve` waits for its workers to answer before it listens
CALL_TIMEOUT = 60.0  # seconds a waiting caller (an App Home refresh) waits for its worker's answer


class Offload:
    """The serving process's side: a pool of `workers` processes and the jobs sent to them.

    `submit(kind, args, on_lost)`: fire and forget (the `/care` subcommand after its ack); `on_lost(error)` is
    called in this process when the job could not run or its worker died. `call(kind, args)`: wait for the
    worker's answer (the App Home refresh, from a background thread that holds no GIL while it waits).
    `shutdown()` finishes what is queued, then ends the workers."""

    def __init__(self, settings: Any, workers: int, clock: Any, *, keyring: Any = None):
        self.workers = workers
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        level, fmt = _log_setup()
        self._initargs = (settings, keyring, level, fmt, os.getpid())
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=self._initargs)

    def start(self, timeout: float = START_TIMEOUT) -> bool:
        """Start every worker now and wait until they answer (each takes a second or two to import the bot), so
        the first job does not wait for them: a modal's trigger_id expires 3 s after the command. False (logged)
        when they did not answer within `timeout` seconds; jobs then wait for them."""
        futures = [self._submit(_ping, ()) for _ in range(self.workers)]
        try:
            for future in futures:
                future.result(timeout)
        except Exception as error:  # noqa: BLE001 - said in one line; the pool retries on the next job
            log.error("the worker processes did not start within %.0f s: %s", timeout, error)
            return False
        return True

    def submit(self, kind: str, args: dict[str, Any], on_lost: Callable[[BaseException], None]) -> None:
        try:
            future = self._submit(_run, (kind, self._clock.now(), REQUEST_ID.get(), args))
        except Exception as error:  # noqa: BLE001 - after the stop, or arguments that do not pickle
            on_lost(error)
            return

        def done(finished: Future) -> None:
            error = finished.exception()
            if error is not None:
                log.error("after-ack job %s lost: %s", kind, error)
                on_lost(error)

        future.add_done_callback(done)

    def call(self, kind: str, args: dict[str, Any], timeout: float = CALL_TIMEOUT) -> Any:
        return self._submit(_run, (kind, self._clock.now(), REQUEST_ID.get(), args)).result(timeout)

    def _submit(self, fn: Callable[..., Any], args: tuple) -> Future:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker processes are stopped")
            try:
                return self._executor.submit(fn, *args)
            except BrokenProcessPool:  # a worker died (killed, out of memory): a new pool for what follows
                log.error("a worker process died; starting new ones")
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
                return self._executor.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            executor = self._executor
        executor.shutdown(wait=wait)


def _log_setup() -> tuple[int, str]:
    from bot.logs import JsonFormatter

    root = logging.getLogger()
    fmt = "json" if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers) else "text"
    return root.level, fmt


# --- the worker's side ------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}
JOBS: dict[str, Callable[..., Any]] = {}  # kind -> fn(deps, client, **args); filled by the handler modules


def job(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register fn(deps, client, **args) as the worker's job `kind` (the module must be imported by the worker)."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[kind] = fn
        return fn

    return register


def _worker_init(settings, keyring, level: int, fmt: str, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the serving process stops us, after our queue
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass
    from bot.logs import configure

    configure(level, fmt)
    from storage import crypto

    if keyring is not None:
        crypto.use_keyring(keyring)
    from bot.clock import SystemClock
    from bot.services.core import Services
    from bot.slack_client import build_client
    from handlers import commands, home  # noqa: F401 - they register their jobs in JOBS
    from handlers.deps import Deps
    from messages.render import Renderer
    from storage.db import Database

    services = Services(db=Database(settings.database_url), clock=SystemClock(), default_team=settings.default_team)
    _worker.update(deps=Deps(services=services, renderer=Renderer()), client=build_client(settings))
    threading.Thread(target=_exit_with, args=(parent,), name="carebot-worker-orphan", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker within a second of the serving process's end, however it ended (SIGKILL included)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _ping() -> int:
    return os.getpid()


def _run(kind: str, now: dt.datetime, request_id: str | None, args: dict[str, Any]) -> Any:
    from bot.clock import ManualClock

    deps = _worker["deps"]
    deps = dataclasses.replace(deps, services=dataclasses.replace(deps.services, clock=ManualClock(now)))
    token = REQUEST_ID.set(request_id)
    try:
        return JOBS[kind](deps, _worker["client"], **args)
    finally:
        deps.pool.background.drain()  # what the job queued for later (a colleague's Home) goes out before the next
        REQUEST_ID.reset(token)
