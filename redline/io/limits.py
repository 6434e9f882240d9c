"""How much a read may load: the feature and memory limits of the in-memory engine.

:func:`estimate_memory` estimates what a read of a layer takes; a layer beyond ``REDLINE_MAX_FEATURES``,
``REDLINE_MAX_MEMORY`` or the memory available is refused before it is read, naming the way out.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from pathlib import Path

from ..errors import LayerReadError, LayerTooLargeError
from .sources import _PARQUET, _sibling

#: Environment variables that bound what :func:`read_layer` will load into memory.
MAX_FEATURES_ENV = "REDLINE_MAX_FEATURES"
MAX_MEMORY_ENV = "REDLINE_MAX_MEMORY"
#: In-memory bytes per byte of file (WKB/Arrow buffers, shapely geometries, the repaired and reprojected copies)
#: and per feature (attributes, index, GEOS objects): measured on the sample layers and a 1 M-vertex polygon.
_BYTES_PER_FILE_BYTE = 6
_BYTES_PER_FEATURE = 1500
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12}


def _parse_bytes(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise LayerReadError(f"{MAX_MEMORY_ENV}={text!r}: expected a size such as 2GB or 500MB")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _available_memory() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _source_size(path: Path) -> tuple[int, int | None]:
    """Bytes of the data (all parts of a shapefile, uncompressed size of a zip) and the feature count if cheap."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return sum(i.file_size for i in zf.infolist()), None
    if suffix == ".shp":
        stem = path.with_suffix("")
        return sum(p.stat().st_size for p in (_sibling(stem, e) for e in (".shp", ".dbf")) if p), None
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()), None
    return path.stat().st_size, None


def _feature_count(path: Path, layer: str | None) -> int | None:
    try:
        if path.suffix.lower() in _PARQUET:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # read byte for byte: field names that aren't UTF-8 can't fail a count
            count = pyogrio.read_info(path, layer=layer, encoding="ISO-8859-1")["features"]
        return int(count) if count is not None and count >= 0 else None
    except Exception:
        return None


def estimate_memory(path: str | os.PathLike, layer: str | None = None) -> tuple[int | None, float]:
    """``(features, bytes)``: the feature count and a rough estimate of the memory a read of the layer takes."""
    path = Path(path)
    size, _ = _source_size(path)
    features = _feature_count(path, layer)
    return features, _BYTES_PER_FILE_BYTE * size + _BYTES_PER_FEATURE * (features or 0)


def _check_size(path: Path, layer: str | None, where: str) -> None:
    """Refuse a layer too large for the in-memory engine before reading it, naming the way out."""
    max_features = os.environ.get(MAX_FEATURES_ENV)
    max_memory = os.environ.get(MAX_MEMORY_ENV)
    limit_bytes = _parse_bytes(max_memory) if max_memory else _available_memory()
    size, _ = _source_size(path)
    if not max_features and (not limit_bytes or _BYTES_PER_FILE_BYTE * size < 0.1 * limit_bytes):
        return  # far from any limit: don't open the file twice
    features, need = estimate_memory(path, layer)
    scale_out = "split the layer by county (or tile) and use partitioned inputs"
    if max_features:
        try:
            limit = int(max_features)
        except ValueError:
            raise LayerReadError(f"{MAX_FEATURES_ENV}={max_features!r}: expected a whole number") from None
        if features is not None and features > limit:
            raise LayerTooLargeError(
                f"{where}: {features:,} features, more than the limit of {limit:,} ({MAX_FEATURES_ENV}); "
                f"{scale_out}, or raise the limit"
            )
    if limit_bytes and need > limit_bytes:
        source = MAX_MEMORY_ENV if max_memory else "available memory"
        raise LayerTooLargeError(
            f"{where}: too large for the in-memory engine — about {need / 1e9:,.2f} GB needed "
            f"({features if features is not None else 'unknown number of'} features), "
            f"{limit_bytes / 1e9:,.2f} GB allowed ({source}); {scale_out}"
            + (f", or raise {MAX_MEMORY_ENV}" if max_memory else "")
        )
