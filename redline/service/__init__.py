"""The bureau service (``redline serve``): screening, indicators and conflicts for a whole bureau over HTTP.

One authoritative set of control lines (一张图) in a store (:mod:`~redline.service.store`: SQLite or PostGIS),
accounts with roles (:mod:`~redline.service.auth`), jobs in a pool of worker processes
(:mod:`~redline.service.pool`), OGC API - Processes and Features (:mod:`~redline.service.app`) and an
append-only audit trail.
"""

from __future__ import annotations

__all__ = ["create_app", "Store"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Store":
        from .store import Store

        return Store
    raise AttributeError(name)
