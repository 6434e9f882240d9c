"""Vectorised shapely work in chunks on all cores: GEOS releases the GIL, so threads share one copy of the data."""

from __future__ import annotations

import ctypes
import ntpath
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

__all__ = ["InProcesses", "query", "release_memory", "serve", "threaded", "workers"]


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
    handed to ``take(task, result)`` here (in a thread of this process, one per worker).

    For work that holds the GIL (rasterio's rasterisation), where threads would take turns. The workers are
    fresh Python processes (``python -c``) that import only what unpickling ``work`` needs — so ``work`` must be
    a module-level function, and its arguments and result picklable — never forks of this one (a fork keeps this
    process's memory alive as it changes: a city's screening, 1.8 GB, grew to 2.5 GB with two forked children)
    nor multiprocessing's spawn (which imports the user's main script again in every worker, running a script
    without an ``if __name__ == "__main__"`` guard once more). :meth:`wait` takes the tasks not yet sent and does
    them here, beside the workers, then does again any a worker did not finish (it could not start, failed or
    was killed), so a result is never missing. With one core, or where ``sys.executable`` is no Python (inside
    QGIS), everything runs in :meth:`wait`.
    """

    def __init__(self, work: Callable, make: Callable, take: Callable, tasks: Sequence, *, processes: int = 0,
                 min_tasks: int = 4):
        self.work, self.make, self.take = work, make, take
        self._queue, self._lost = deque(tasks), []
        self._lock = threading.Lock()
        self._threads = []
        if workers() > 1 and len(self._queue) >= min_tasks and _is_python(sys.executable):
            n = min(processes or workers(), len(self._queue))
            self._threads = [threading.Thread(target=self._feed, daemon=True) for _ in range(n)]
            for thread in self._threads:
                thread.start()

    def _next(self):
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _feed(self) -> None:
        """One worker: tasks sent one at a time until none is left (or the worker fails: its task is lost)."""
        task = None
        try:
            with subprocess.Popen([sys.executable, "-c", "from redline.geometry._parallel import serve; serve()"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
                try:
                    pickle.dump(sys.path, proc.stdin)  # where this process finds ``work``'s module, the worker too
                    while (task := self._next()) is not None:
                        pickle.dump((self.work, self.make(task)), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                        proc.stdin.flush()
                        ok, result = pickle.load(proc.stdout)
                        if not ok:
                            raise RuntimeError(result)
                        self.take(task, result)
                        task = None
                finally:
                    proc.stdin.close()
        except Exception:  # noqa: BLE001 - no worker, or it failed: wait() does the task here
            if task is not None:
                with self._lock:
                    self._lost.append(task)

    def wait(self) -> None:
        """Return once every task's result was taken."""
        while (task := self._next()) is not None:
            self.take(task, self.work(*self.make(task)))
        for thread in self._threads:
            thread.join()
        self._threads = []
        while self._lost:
            task = self._lost.pop()
            self.take(task, self.work(*self.make(task)))


def _is_python(executable: str) -> bool:
    """Whether ``executable`` is a Python interpreter that ``-c`` can start: not inside an application embedding
    Python (QGIS's ``sys.executable`` is QGIS itself) or a frozen one, where the work runs here instead."""
    return bool(executable) and not getattr(sys, "frozen", False) and \
        ntpath.basename(executable).lower().startswith(("python", "pypy"))  # either separator


def serve() -> None:
    """A worker of :class:`InProcesses`: the parent's ``sys.path``, then ``(work, args)`` pickles from stdin,
    ``(ok, result)`` pickles to stdout, until stdin closes. Ctrl-C is the parent's to handle (closing stdin ends
    the worker); printing goes to stderr, not into the results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    try:
        sys.path[:] = pickle.load(inp)
    except EOFError:
        return
    while True:
        try:
            work, args = pickle.load(inp)
        except EOFError:
            return
        try:
            reply = (True, work(*args))
        except Exception as exc:  # noqa: BLE001 - the parent does the task again itself, and reports what fails
            reply = (False, repr(exc))
        pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
