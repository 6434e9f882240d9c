"""Moved to :mod:`redline.io.partition`; this name stays importable for code written against redline 0.1."""

from redline.io.partition import *  # noqa: F401,F403
