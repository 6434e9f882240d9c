"""Moved to :mod:`redline.geometry.crs`; this name stays importable for code written against redline 0.1."""

from redline.geometry.crs import *  # noqa: F401,F403

