"""The one error hierarchy of redline.

Every error redline raises on purpose derives from :class:`RedlineError`
and also from the matching built-in, so ``except OSError`` or
``except ValueError`` keep working in callers that don't know redline.
The CLI catches :class:`RedlineError` and prints its message on one line;
anything else is a bug and shows a traceback.
"""

from __future__ import annotations

__all__ = [
    "RedlineError",
    "LayerReadError",
    "LayerNotFoundError",
    "CRSError",
    "GeometryError",
    "CatalogError",
    "FieldError",
    "OutputError",
]


class RedlineError(Exception):
    """Base class of every error redline raises on purpose."""


class LayerReadError(RedlineError, OSError):
    """A data source could not be read: missing, not spatial, corrupt, empty."""


class LayerNotFoundError(LayerReadError, KeyError):
    """A named layer is not in a multi-layer source (the message lists those that are)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CRSError(RedlineError, ValueError):
    """A coordinate reference system is missing, unknown or contradicts the coordinates."""


class GeometryError(RedlineError, ValueError):
    """Geometries are of the wrong type or cannot be repaired."""


class FieldError(RedlineError, KeyError):
    """A required attribute field is missing or its values are unusable (the message lists the fields there are)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CatalogError(RedlineError, ValueError):
    """A catalog, recipe or theme file (TOML) is invalid; the message lists every problem."""


class OutputError(RedlineError, OSError):
    """An output could not be written (or would overwrite an input)."""
