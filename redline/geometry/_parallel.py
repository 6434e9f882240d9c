"""Vectorised shapely work in chunks on all cores: GEOS releases the GIL, so threads share one copy of the data."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import shapely

__all__ = ["InProcesses", "query", "release_memory", "threaded", "workers"]


def release_memory() -> None:
    """Give the heap's free pages back to the operating system (glibc's ``malloc_trim``; elsewhere nothing).

    Millions of small GEOS objects freed leave the heap fragmented: the memory is free for this process but
    still counted as its own (resident), 0.1–0.3 GB after a city's screening."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError, TypeError):  # not glibc (macOS has no malloc_trim; Windows no CDLL(None))
        pass


def workers() -> int:
    """Threads to use: the machine's cores, at most 8."""
    return min(os.cpu_count() or 1, 8)


def threaded(func, *arrays: np.ndarray, chunk: int = 20_000, align: np.ndarray | None = None) -> np.ndarray:
    """``func(*arrays)`` in chunks on all cores (GEOS releases the GIL), results concatenated in order.

    ``align`` (sorted group ids, one per element) keeps each group in one chunk: a prepared geometry
    repeated along a group then never serves two threads at once (GEOS builds its indexes lazily).
    """
    n = len(arrays[0])
    n_workers = workers()
    if n_workers == 1 or n <= chunk:
        return func(*arrays)
    edges = np.arange(0, n, chunk)
    if align is not None:  # move each cut back to the start of its group
        edges = np.searchsorted(align, align[edges], side="left")
    edges = np.unique(np.r_[edges, 0, n]).tolist()
    with ThreadPoolExecutor(n_workers) as pool:
        parts = list(pool.map(lambda lo_hi: func(*(a[lo_hi[0]:lo_hi[1]] for a in arrays)), zip(edges[:-1], edges[1:])))
    return np.concatenate(parts)


def query(tree: shapely.STRtree, geoms: np.ndarray, predicate: str) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms, predicate)`` in chunks on all cores (the predicates release the GIL)."""
    n_workers = workers()
    if n_workers == 1 or len(geoms) < 2_000:
        return tree.query(geoms, predicate=predicate)
    edges = np.linspace(0, len(geoms), n_workers * 4 + 1).astype(int)

    def work(lo: int, hi: int) -> np.ndarray:
        found = tree.query(geoms[lo:hi], predicate=predicate)
        found[0] += lo
        return found

    with ThreadPoolExecutor(n_workers) as pool:
        parts = list(pool.map(work, edges[:-1], edges[1:]))
    return tuple(np.concatenate(parts, axis=1))


class InProcesses:
    """``work(*make(task))`` for each of ``tasks`` in worker processes while this process goes on, each result
    handed to ``take(task, result)`` here (in a thread of this process).

    For work that holds the GIL (rasterio's rasterisation), where threads would take turns. The workers are
    fresh processes (forkserver on Linux, spawn elsewhere), not forks of this one: a fork keeps this process's
    memory alive as it changes (a city's screening, 1.8 GB, grew to 2.5 GB with two forked children); ``work``
    must live in a module that imports little (a worker's imports are its size) and be picklable, with its
    arguments. At most two tasks per worker are in flight. :meth:`wait` takes the tasks not yet sent and does
    them here, beside the workers, then does again any a worker did not finish (the pool could not start, or a
    worker failed or was killed), so a result is never missing. With one core everything runs in :meth:`wait`.
    """

    def __init__(self, work: Callable, make: Callable, take: Callable, tasks: Sequence, *, processes: int = 0,
                 min_tasks: int = 4):
        self.work, self.make, self.take = work, make, take
        self._queue, self._lost = deque(tasks), []
        self._lock = threading.Lock()
        self._thread = None
        n = min(processes or workers(), len(self._queue))
        if workers() > 1 and len(self._queue) >= min_tasks:
            self._thread = threading.Thread(target=self._feed, args=(n,), daemon=True)
            self._thread.start()

    def _next(self):
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _feed(self, n: int) -> None:
        flying: deque = deque()
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        task = None
        try:
            with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method),
                                     initializer=_ignore_interrupts) as pool:
                while (task := self._next()) is not None:
                    flying.append((task, pool.submit(self.work, *self.make(task))))
                    task = None  # sent
                    while len(flying) > 2 * n:
                        self._land(flying)
                while flying:
                    self._land(flying)
        except Exception:  # noqa: BLE001 - no pool, or a worker lost: wait() does those tasks here
            self._lost += [t for t, _ in flying] + ([task] if task is not None else [])

    def _land(self, flying: deque) -> None:
        task, future = flying[0]
        self.take(task, future.result())
        flying.popleft()

    def wait(self) -> None:
        """Return once every task's result was taken."""
        while (task := self._next()) is not None:
            self.take(task, self.work(*self.make(task)))
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        while self._lost:
            task = self._lost.pop()
            self.take(task, self.work(*self.make(task)))


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle (it ends the pool), so no worker prints a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
