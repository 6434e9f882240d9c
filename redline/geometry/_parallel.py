"""Vectorised shapely work in chunks on all cores: GEOS releases the GIL, so threads share one copy of the data."""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

__all__ = ["query", "release_memory", "threaded", "workers"]


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
