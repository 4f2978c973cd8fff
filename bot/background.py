"""Work done after the ack, off the request threads (issue 14): a few worker threads and a queue of keyed jobs.

A job submitted under a key that is already waiting is not queued twice: the one waiting runs later and reads
the data as it is then, so a burst of changes for one person (five calls logged in a minute) costs one App Home
refresh, not five (debounced per key). A job that has started no longer counts as waiting: a change made while it
runs queues the next refresh. Jobs log their failures; they never reach the request that queued them.

`drain()` waits for the queue to empty (an orderly stop, bot/shutdown.py; tests)."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.offload import Offload

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2  # a refresh waits on the database and on Slack: two overlap those waits, more fight for the GIL


class Background:
    def __init__(self, workers: int = DEFAULT_WORKERS, name: str = "carebot-later"):
        self._jobs: collections.OrderedDict[Hashable, Callable[[], None]] = collections.OrderedDict()
        self._cond = threading.Condition()
        self._running = 0
        self._active: set[Hashable] = set()  # keys whose job is running
        self._stopped = False
        self._workers, self._name = max(1, workers), name
        self._threads: list[threading.Thread] = []  # started by the first submit

    def submit(self, key: Hashable, job: Callable[[], None]) -> bool:
        """Queue `job` under `key`; False when a job of that key is already waiting (this one is dropped)."""
        with self._cond:
            if self._stopped:
                log.warning("not queued after the stop: %s", key)
                return False
            if key in self._jobs:
                return False
            self._jobs[key] = job
            if not self._threads:
                self._threads = [threading.Thread(target=self._work, name=f"{self._name}-{n}", daemon=True)
                                 for n in range(self._workers)]
                for thread in self._threads:
                    thread.start()
            self._cond.notify()
            return True

    def pending(self) -> int:
        with self._cond:
            return len(self._jobs) + self._running

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or running; False when `timeout` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Finish what is queued (up to `timeout` s), then let the workers end; later submits are refused."""
        done = self.drain(timeout)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        return done

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:  # two jobs of one key never run at once: a later Home never lands before an earlier one
                    key = next((k for k in self._jobs if k not in self._active), None)
                    if key is not None:
                        break
                    if self._stopped and not self._jobs:
                        return
                    self._cond.wait()
                job = self._jobs.pop(key)
                self._active.add(key)
                self._running += 1
            try:
                job()
            except Exception:  # noqa: BLE001 - a background job's failure is logged, never raised anywhere
                log.exception("background job %s failed", key)
            finally:
                with self._cond:
                    self._active.discard(key)
                    self._running -= 1
                    self._cond.notify_all()

SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005); set by bot/app.py for the serving process
AFTER_ACK_SLOTS = 2  # listeners doing their after-ack work at once (2 cores): the rest wait, holding no GIL
LISTENER_THREADS = 64  # threads that run listeners up to their ack; some of them wait for an after-ack slot


class ListenerPool(ThreadPoolExecutor):
    """Bolt's listener executor and ours: listeners run here up to their ack (unbounded but for the thread count),
    then take one of `after_ack` slots for the rest, so the work Slack is not waiting for (a page of the queue,
    a message, a modal) never has more than two threads competing for the GIL with the next requests' acks.
    `background` (App Home refreshes) and `offload` (worker processes) are stopped with it: `shutdown(wait=True)`
    finishes all three."""

    def __init__(self, threads: int = LISTENER_THREADS, after_ack: int = AFTER_ACK_SLOTS,
                 background: Background | None = None, offload: Offload | None = None):
        super().__init__(max_workers=threads, thread_name_prefix="carebot-listener")
        self.after_ack = threading.BoundedSemaphore(after_ack)
        self._later = ThreadPoolExecutor(max_workers=after_ack, thread_name_prefix="carebot-after-ack")
        self.background = background or Background()
        self.offload = offload  # worker processes for after-ack work (bot/offload.py); None: all of it here

    def after(self, job: Callable[[], None]) -> None:
        """Run `job` once an after-ack slot is free, on a thread of its own: the listener's thread is free at once
        (however long the queue, it never holds up the next request's ack)."""
        def slotted() -> None:
            with self.after_ack:
                job()

        self._later.submit(slotted)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        self._later.shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            self.background.stop()
        if self.offload is not None:
            self.offload.shutdown(wait=wait)
