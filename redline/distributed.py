"""Moved to :mod:`redline.engines.dask`; this name stays importable for code written against redline 0.1."""

from redline.engines.dask import *  # noqa: F401,F403

