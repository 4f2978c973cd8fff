"""After-ack work in worker processes (issue 14): the page of `/care due` and the App Home refreshes are built
outside the serving process, so they never hold the GIL the next request's ack needs. (A subcommand that opens a
form runs in the serving process right after its ack: Slack takes the form only within 3 s of the command.)

`carebot serve` starts `CAREBOT_WORKERS` worker processes beside itself (default: the machine's cores less one,
at least 1), at a lower CPU priority (nice +5) than the process that acks. They are forked while the serving
process is built and still has one thread (no lock another thread holds is copied half-taken), after its start-up
heap is frozen (`gc.freeze`): the modules, templates and Bolt's objects stay pages shared with the serving process
(copy-on-write), so a worker costs ~15-25 MB of its own instead of the ~85 MB of a fresh interpreter. Each opens
its own database engine, never the serving process's connections. A worker started later (to replace one that
died, when the serving process has threads) is spawned: a fresh interpreter that imports the bot. Workers are
named `carebot-worker` (`ps`, `top`). A job is plain data: a kind ("care", "home"), the request's
moment (`now`, read from the serving process's clock: the page is as of the moment the person asked), its request
id (logs and error messages quote it) and pickled arguments (the person as an `Actor`, the command's body). The
worker runs the same handler code the serving process would (handlers/commands.py `run_care`, handlers/home.py
`publish_now`): it answers the person through response_url, reports its own errors to them through the one error
path (handlers/errors.py `report`) and logs in the serving process's format to the same stderr.

What is not more fragile than the in-process queue it replaces: a job lives only in memory, as before (a listener
acked and not finished when the process died was lost then too; the durable effects go through the outbox and
the delivery claims, which are in the database). A worker that dies mid-job (killed, out of memory) is replaced;
the person whose job it was is told something went wrong, with a reference (`on_lost`). Workers ignore SIGINT and
SIGTERM (the serving process stops them in order, after their queue: bot/shutdown.py) and end as soon as their
pipe to the serving process closes (it ended, however: SIGKILL included), so none is left behind.

`workers=0` (the test suite's in-process apps, `CAREBOT_WORKERS=0`) keeps everything in the serving process, on
the after-ack threads of bot/background.py."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing import connection as mp_connection
from typing import Any

from bot.logs import REQUEST_ID

log = logging.getLogger(__name__)

WORKER_NICE = 5  # a contested core goes to the acks' process ~3 times in 4 (CFS weights 1024 : 335); at +10 the pages
# and Homes starved when other work shared the machine (PostgreSQL pages 55 -> 18 a second at load 7)
START_TIMEOUT = 60.0  # seconds `carebot serve` waits for its workers to answer before it listens
IN_FLIGHT = 2  # jobs sent to a worker and not answered yet: one running, one waiting in its pipe
CALL_TIMEOUT = 60.0  # seconds a waiting caller (an App Home refresh) waits for its worker's answer


class WorkerDied(RuntimeError):
    """The worker process running a job ended before answering (killed, out of memory)."""


@dataclass
class _Job:
    id: int
    message: tuple  # kind, now, request id, arguments
    future: Future
    on_lost: Callable[[BaseException], None] | None


@dataclass
class _Worker:
    process: Any  # multiprocessing's Process
    conn: Any  # this end of its pipe
    jobs: dict[int, _Job] = field(default_factory=dict)  # sent, not answered
    ready: threading.Event = field(default_factory=threading.Event)
    sending: threading.Lock = field(default_factory=threading.Lock)


class Offload:
    """The serving process's side: `workers` processes, each with its own pipe, and the jobs sent to them.

    `submit(kind, args, on_lost)`: fire and forget (the `/care` subcommand after its ack); `on_lost(error)` is
    called in this process when the job could not be sent or its worker died under it. `call(kind, args)`:
    wait for the worker's answer (the App Home refresh, from a background thread that holds no GIL while it
    waits). A job goes to a worker with fewer than IN_FLIGHT jobs unanswered, else waits in this process's
    backlog; it is written to the worker's pipe by the caller's thread or by the one reader thread, which takes
    the answers, sends the next waiting job and sees a worker end, which is replaced (no go-between thread:
    each would take the GIL from the next ack). `shutdown()` finishes what was queued, then ends the workers."""

    def __init__(self, settings: Any, workers: int, clock: Any, *, keyring: Any = None, renderer: Any = None):
        self.workers = workers
        self._renderer = renderer  # a forked worker renders with it (its compiled templates are shared pages)
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._ids = itertools.count(1)
        self._context = multiprocessing.get_context("spawn")
        level, fmt = _log_setup()
        self._initargs = (settings, keyring, level, fmt)
        self.forked = 0  # workers forked (shared pages) rather than spawned: for the logs and the tests
        self._pool: list[_Worker] = []
        self._backlog: collections.deque[_Job] = collections.deque()  # not sent yet
        self._wakeup_read, self._wakeup = self._context.Pipe(duplex=False)
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = START_TIMEOUT) -> bool:
        """Start every worker and wait until they answer (each takes a second or two to import the bot), so the
        first job does not wait for them: a modal's trigger_id expires 3 s after the command. False (logged)
        when they did not within `timeout` seconds; jobs sent meanwhile wait in their pipes."""
        with self._lock:
            while len(self._pool) < self.workers:
                self._pool.append(self._spawn())
            pool = list(self._pool)
        if self._reader is None:
            self._reader = threading.Thread(target=self._read, name="carebot-offload", daemon=True)
            self._reader.start()
        deadline = time.monotonic() + timeout
        if all(w.ready.wait(max(0.0, deadline - time.monotonic())) for w in pool):
            log.info("%d worker process(es) ready (%d forked, sharing this process's pages)", len(pool), self.forked)
            return True
        log.error("the worker processes did not start within %.0f s", timeout)
        return False

    def submit(self, kind: str, args: dict[str, Any], on_lost: Callable[[BaseException], None]) -> None:
        try:
            self._send(kind, args, on_lost)
        except Exception as error:  # noqa: BLE001 - after the stop, or arguments that do not pickle
            log.error("after-ack job %s not sent: %s", kind, error)
            on_lost(error)

    def call(self, kind: str, args: dict[str, Any], timeout: float = CALL_TIMEOUT) -> Any:
        return self._send(kind, args, None).result(timeout)

    def _send(self, kind: str, args: dict[str, Any], on_lost: Callable[[BaseException], None] | None) -> Future:
        if self._reader is None:
            self.start()
        job = _Job(next(self._ids), (kind, self._clock.now(), REQUEST_ID.get(), args), Future(), on_lost)
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker processes are stopped")
            self._backlog.append(job)
        self._dispatch()
        return job.future

    def _dispatch(self) -> None:
        """Send waiting jobs to the workers with fewer than IN_FLIGHT of them (the rest wait here, not in a pipe
        that would block the sender when full); called by a job's sender and by the reader after each answer."""
        while True:
            with self._lock:
                ready = [w for w in self._pool if w.ready.is_set() and len(w.jobs) < IN_FLIGHT]
                if not ready or not self._backlog:
                    return
                worker = min(ready, key=lambda w: len(w.jobs))
                job = self._backlog.popleft()
                worker.jobs[job.id] = job
            try:
                with worker.sending:
                    worker.conn.send((job.id, *job.message))
            except Exception as error:  # noqa: BLE001 - arguments that do not pickle, a worker just ended
                with self._lock:
                    mine = worker.jobs.pop(job.id, None)
                if mine is not None:  # else its worker's end reported it already (`_ended`)
                    self._lose([job], error)

    def _spawn(self) -> _Worker:
        """A new worker: forked while this process has one thread (its pages shared), else spawned."""
        context, inherited = self._context, None
        if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
            import gc

            context = multiprocessing.get_context("fork")
            gc.collect()
            gc.freeze()  # the objects made so far stay untouched by either process's collector: pages stay shared
            self.forked += 1
        mine, theirs = context.Pipe()
        if context is not self._context:  # the child closes its copies of this process's ends of every pipe,
            # else a pipe would never read as closed when this process ends (the workers would outlive it)
            inherited = [w.conn for w in self._pool] + [mine, self._wakeup_read, self._wakeup]
        process = context.Process(target=_worker_main, daemon=True, name="carebot-worker",
                                  args=(theirs, *self._initargs, inherited,
                                        self._renderer if inherited is not None else None))
        process.start()
        theirs.close()
        return _Worker(process, mine)

    def _read(self) -> None:
        """The answers of every worker, and their ends: a job whose worker ended unanswered is lost (`on_lost`,
        or the waiting caller's error); a worker that ended before the stop is replaced."""
        while True:
            with self._lock:
                pool = list(self._pool)
                if self._closed and not pool:
                    return
            ready = mp_connection.wait([self._wakeup_read] + [w.conn for w in pool]
                                       + [w.process.sentinel for w in pool])
            for worker in pool:
                if worker.conn in ready:
                    self._answers(worker)
                if worker.process.sentinel in ready and not worker.process.is_alive():
                    self._answers(worker)  # what it said before it ended
                    self._ended(worker)
            if self._wakeup_read in ready:
                self._wakeup_read.recv_bytes()

    def _answers(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                job_id, ok, value = worker.conn.recv()
                if job_id == 0:
                    worker.ready.set()
                    continue
                with self._lock:
                    job = worker.jobs.pop(job_id, None)
                if job is not None:
                    if ok:
                        job.future.set_result(value)
                    else:
                        job.future.set_exception(RuntimeError(value))
        except (EOFError, OSError):
            pass
        self._dispatch()

    def _lose(self, jobs: list[_Job], error: BaseException) -> None:
        for job in jobs:
            job.future.set_exception(error)
            if job.on_lost is not None:
                try:
                    job.on_lost(error)
                except Exception:  # noqa: BLE001 - telling the person failed: logged, the reader goes on
                    log.exception("could not report a lost job")

    def _ended(self, worker: _Worker) -> None:
        fresh = None if self._closed else self._spawn()  # started first: the pool is never empty
        with self._lock:
            if worker in self._pool:
                self._pool.remove(worker)
            if fresh is not None:
                self._pool.append(fresh)
            lost, worker.jobs = list(worker.jobs.values()), {}
        worker.conn.close()
        if fresh is not None:
            log.error("a worker process ended (exit code %s) with %d job(s); a new one is starting",
                      worker.process.exitcode, len(lost))
        self._lose(lost, WorkerDied(f"worker process {worker.process.pid} ended (exit code "
                                    f"{worker.process.exitcode})"))

    def shutdown(self, wait: bool = True, timeout: float = CALL_TIMEOUT) -> None:
        """No new jobs; the ones waiting are sent and finished (with `wait`, up to `timeout` seconds), then each
        worker ends; one still running `timeout` seconds after the stop began (stuck on a job) is killed, so
        the serving process never waits for it longer (SIGTERM would not do: workers ignore it)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + timeout
        while wait and time.monotonic() < deadline:
            with self._lock:
                busy = self._backlog or any(w.jobs for w in self._pool)
            if not busy:
                break
            time.sleep(0.02)
        with self._lock:
            pool = list(self._pool)
        for worker in pool:
            with contextlib.suppress(OSError), worker.sending:
                worker.conn.send(None)
        self._wakeup.send_bytes(b"")
        if wait:
            for worker in pool:
                worker.process.join(max(1.0, deadline - time.monotonic()))
        for worker in pool:
            if worker.process.is_alive():
                log.error("worker process %s did not end with the stop; killed", worker.process.pid)
                worker.process.kill()
                worker.process.join(5)
        if wait and self._reader is not None:
            self._reader.join(10)


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


def _worker_main(conn, settings, keyring, level: int, fmt: str, inherited: list | None = None,
                 renderer: Any = None) -> None:
    """A worker process: set up, say so (job 0), then run each job its pipe brings until None or the pipe's end
    (the serving process is gone, however it ended: no worker outlives it). When forked: `inherited`, the
    serving process's pipe ends it copied, closed here; `renderer`, the serving process's (templates compiled)."""
    for other in inherited or ():
        other.close()
    _worker_init(settings, keyring, level, fmt, renderer)
    conn.send((0, True, os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, kind, now, request_id, args = message
        try:
            answer = (job_id, True, _run(kind, now, request_id, args))
        except Exception as error:  # noqa: BLE001 - the caller is told; the worker goes on
            log.exception("after-ack job %s failed", kind)
            answer = (job_id, False, f"{type(error).__name__}: {error}")
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return


def _worker_init(settings, keyring, level: int, fmt: str, renderer: Any = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the serving process stops us, after our queue
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    import setproctitle

    setproctitle.setproctitle("carebot-worker")  # its name in ps and top (and /proc/PID/comm)
    from bot import single_process

    single_process.forget_inherited()  # forked: the serving process's lock file is its own, not ours
    from storage.db import forget_inherited_connections

    forget_inherited_connections()  # forked: its pooled connections stay its own
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
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
    _worker.update(deps=Deps(services=services, renderer=renderer or Renderer()), client=build_client(settings))
    import gc

    gc.collect()
    gc.freeze()  # as the serving process (bot/app.py `freeze_startup_heap`): no long pause mid-page


def _die_with_parent() -> None:
    """Linux: the kernel sends this process SIGKILL the moment the serving process ends, however it ends
    (prctl PR_SET_PDEATHSIG), so a worker in the middle of a job (a page waiting on a slow response_url) does
    not outlive a killed serving process until its job ends; the closed pipe still ends it elsewhere."""
    import ctypes
    import ctypes.util

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the request took effect
        os._exit(0)


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
