"""Moved to :mod:`redline.geometry.area` (areas) and :mod:`redline.geometry.clean` (the repair and the coordinate
checks); this name stays importable for code written against redline 0.1."""

from redline.geometry.area import *  # noqa: F401,F403
from redline.geometry.area import densify_geodesic  # noqa: F401
from redline.geometry.clean import *  # noqa: F401,F403
from redline.geometry.clean import NON_FINITE, describe_repairs, polygonal, repair, require_usable  # noqa: F401
