"""Moved to :mod:`redline.geometry.area`; this name stays importable for code written against redline 0.1."""

from redline.geometry.area import *  # noqa: F401,F403
from redline.geometry.area import densify_geodesic, repair  # noqa: F401
