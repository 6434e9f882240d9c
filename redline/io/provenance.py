"""Provenance: the checksum of a data source (all parts of a shapefile)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .sources import _sibling


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a data source: the file, or for a shapefile its .shp, .shx, .dbf, .prj and .cpg in that order."""
    path = Path(path)
    parts = [path]
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        parts = [p for p in (_sibling(stem, e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")) if p]
    digest = hashlib.sha256()
    for part in parts:
        with part.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
