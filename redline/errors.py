"""The one error hierarchy of redline.

Every error redline raises on purpose derives from :class:`RedlineError`
and also from the matching built-in, so ``except OSError`` or
``except ValueError`` keep working in callers that don't know redline.
The CLI catches :class:`RedlineError` and prints its message on one line;
anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import os
import re

__all__ = [
    "RedlineError",
    "LayerReadError",
    "LayerNotFoundError",
    "CRSError",
    "GeometryError",
    "CatalogError",
    "FieldError",
    "OutputError",
    "InputError",
    "EngineError",
    "LayerTooLargeError",
    "redact",
    "register_secret",
]


class RedlineError(Exception):
    """Base class of every error redline raises on purpose.

    Its message never carries a secret: passwords in URIs and known keys are masked (:func:`redact`).
    """

    def __init__(self, *args):
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


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


class InputError(RedlineError, ValueError):
    """Options or arguments that don't go together or are out of range (``--units`` without ``--by``, no
    boundary, an unknown area unit): what was given and what is expected."""


class EngineError(RedlineError, RuntimeError):
    """The compute engine failed: Dask missing, a scheduler out of reach, a distributed step that could not
    finish. Not the data's fault; the message says what to check."""


class LayerTooLargeError(LayerReadError, MemoryError):
    """A layer is too large for the in-memory engine (the message names the limit and the scale-out option)."""


# ---------------------------------------------------------------------------
# secrets never reach a message

_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*:/+[^:/@\s]+:)(?P<password>\S+)(?P<at>@)")
_KEY_PARAM = re.compile(r"(?P<head>[?&](?:tk|key|token|password|api_key|apikey)=)(?P<value>[^&\s\"'<>]+)", re.IGNORECASE)
_SECRET_ENV = ("TIANDITU_KEY", "PGPASSWORD")
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every later message (e.g. a Tianditu key given on the command line)."""
    if value and len(str(value)) >= 4:
        _SECRETS.add(str(value))


def redact(text: str, secrets: tuple | list = ()) -> str:
    """``text`` with secrets masked as ``***``: passwords in URIs (``postgresql://user:***@host/db``),
    key parameters in URLs (``?tk=***``), the values of ``TIANDITU_KEY``/``PGPASSWORD`` and any of ``secrets``.

    Examples
    --------
    >>> redact("postgresql://planner:s3cret@db.local/gis: cannot connect")
    'postgresql://planner:***@db.local/gis: cannot connect'
    >>> redact("https://t0.tianditu.gov.cn/vec_w/wmts?tk=abc123&x=1")
    'https://t0.tianditu.gov.cn/vec_w/wmts?tk=***&x=1'
    """
    text = _URI_PASSWORD.sub(r"\g<head>***\g<at>", str(text))
    text = _KEY_PARAM.sub(r"\g<head>***", text)
    values = [*secrets, *_SECRETS, *(os.environ.get(name) for name in _SECRET_ENV)]
    for value in sorted({v for v in values if v and len(str(v)) >= 4}, key=len, reverse=True):
        text = text.replace(str(value), "***")
    return text
