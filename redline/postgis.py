"""Moved to :mod:`redline.io.postgis`; this name stays importable for code written against redline 0.1."""

from redline.io.postgis import *  # noqa: F401,F403

