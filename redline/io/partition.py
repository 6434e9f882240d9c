"""Partitioned layers: one large layer as a directory of GeoParquet files — one per county (an attribute) or per
grid tile — with an index of each file's bounding box, so a reader opens only the files its area meets.

``partition_layer`` streams the source in Arrow batches (pyogrio, or pyarrow for GeoParquet): memory stays bounded
by the batch size, whatever the layer's size. The directory is built beside the target and renamed into place at
the end, so a failure never leaves half a partitioned layer. Layout (hive-style, readable by any Parquet tool)::

    farmland.parts/
        _partitions.json          # CRS, key, and per file: rows and bounding box
        county=500114/part.parquet
        county=500115/part.parquet

``read_partitioned`` reads the files whose box meets a bounding box (all of them without one).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from ..geometry.crs import transform_bbox
from ..errors import FieldError, InputError, LayerReadError, OutputError
from .encoding import _TEXT_FORMATS, read_info, _plan
from .write import atomic_folder

__all__ = ["INDEX", "Partition", "check_target", "is_partitioned", "partition_layer", "read_index", "read_partitioned"]

INDEX = "_partitions.json"
#: The column holding each feature's id in its source (GDAL's feature id, or a GeoParquet file's row number):
#: a partitioned layer is indexed by it, whichever partitions are read.
FID = "fid"
_GEOMETRY = "geometry"


@dataclass
class Partition:
    """One file of a partitioned layer: its key, path (relative to the directory), rows and bounding box."""

    key: str
    path: str
    rows: int
    bbox: list[float]


def is_partitioned(path) -> bool:
    """Whether ``path`` is a partitioned layer directory (it holds ``_partitions.json``)."""
    try:
        return (Path(path) / INDEX).is_file()
    except (OSError, TypeError, ValueError):
        return False


def _batches(src: Path, batch_size: int):
    """``(crs, geometry column, attribute fields, iterator of (Arrow record batch, feature ids))`` of a layer,
    streamed. The ids are the source's: GDAL's feature ids, or a GeoParquet file's row numbers."""
    if src.suffix.lower() in (".parquet", ".geoparquet"):
        # no pre-buffering, no read-ahead threads: otherwise pyarrow holds much of the file (2.2 GB of 5 M parcels)
        pf = pq.ParquetFile(src, pre_buffer=False)
        geo = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
        if not geo:
            raise LayerReadError(f"{src}: not a GeoParquet file (no 'geo' metadata)")
        col = geo["primary_column"]
        crs = geo["columns"][col].get("crs", "OGC:CRS84")
        return (CRS.from_user_input(json.dumps(crs) if isinstance(crs, dict) else crs) if crs else None, col,
                [n for n in pf.schema_arrow.names if n != col], _numbered(pf.iter_batches(batch_size=batch_size,
                                                                                        use_threads=False)))
    import pyogrio

    plan = _plan(src, None, None, str(src))  # a shapefile's encoding, from its .dbf bytes and .cpg
    if plan.in_python or (plan.values and src.suffix.lower() in _TEXT_FORMATS):  # GDAL can't recode these
        raise LayerReadError(f"{src}: its attribute text can't be read in batches ({'; '.join(plan.notes)}); "
                             f"export it again (as a GeoPackage, or a shapefile in one encoding) and partition that")
    encoding = plan.gdal
    try:
        info = read_info(src, plan=plan)
    except Exception as exc:
        raise LayerReadError(f"{src}: cannot read ({str(exc).splitlines()[0]})") from None
    crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None

    def stream():
        with pyogrio.open_arrow(src, batch_size=batch_size, use_pyarrow=True, return_fids=True,
                                encoding=encoding) as (meta, reader):
            yield meta.get("geometry_name") or "wkb_geometry"
            for batch in reader:  # the feature ids come first, under the driver's name for them
                yield batch.drop_columns([batch.schema.names[0]]), batch.column(0).to_numpy(zero_copy_only=False)

    batches = stream()
    return crs, next(batches), [str(f) for f in info.get("fields", [])], batches


def _numbered(batches):
    """``(batch, feature ids)``: a GeoParquet file's features are numbered by row, from 0."""
    start = 0
    for batch in batches:
        yield batch, np.arange(start, start + batch.num_rows, dtype="int64")
        start += batch.num_rows


def _safe(value: str) -> str:
    """A key as a directory name: path separators and control characters replaced."""
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", value).strip() or "_"
    return text if text not in (".", "..") else "_"


def check_target(out) -> None:
    """Refuse an output that exists and is not an empty directory (nothing is ever merged into old partitions)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out}: exists and is not an empty directory; choose a new output directory")


def partition_layer(src, out, by: str | None = None, grid_km: float | None = None, batch_size: int = 65_536,
                    progress=None) -> list[Partition]:
    """Split the layer ``src`` into a partitioned directory ``out``: one GeoParquet file per value of the field
    ``by`` (e.g. a county code) or per ``grid_km`` × ``grid_km`` tile of the features' box centres (in the
    layer's CRS; degrees ≈ km / 111.32 for a geographic one). Streams in batches of ``batch_size`` features;
    ``progress(n)`` is called after each batch with the features done. Returns the partitions written.

    Examples
    --------
    >>> parts = partition_layer("farmland.gpkg", "farmland.parts", by="county")  # doctest: +SKIP
    """
    if (by is None) == (grid_km is None):
        raise InputError("partition by a field (by=) or by a grid (grid_km=), one of the two")
    if grid_km is not None and grid_km <= 0:
        raise InputError(f"grid_km must be positive, got {grid_km}")
    src, out = Path(src), Path(out)
    if not src.exists():
        raise LayerReadError(f"{src}: file not found")
    check_target(out)
    crs, geom_col, fields, batches = _batches(src, batch_size)
    if crs is None:
        raise LayerReadError(f"{src}: the layer has no CRS; set one first (redline layers check suggests it)")
    if by is not None and by not in fields:
        raise FieldError(f"{src}: no field {by!r}; fields: {', '.join(fields)}")
    cell = None if grid_km is None else (grid_km / 111.32 if crs.is_geographic else grid_km * 1000.0)
    # built in a hidden folder beside (or in) the target and moved into place at the end: a failure or a kill
    # leaves no half-partitioned layer (redline.io.atomic_folder)
    with atomic_folder(out) as tmp:
        key_name = by if by is not None else "tile"
        fid_name = next(n for n in (FID, "_fid", "__fid") if n not in fields)  # the source's feature ids, kept
        files = _PartFiles(tmp, key_name, crs)
        done = 0
        try:
            for batch, fids in batches:
                table = _with_fids(pa.Table.from_batches([batch]), geom_col, fid_name, fids)
                bounds = shapely.bounds(shapely.from_wkb(table.column(_GEOMETRY).to_numpy(zero_copy_only=False)))
                keys = _keys(table, bounds, by, cell)
                codes, inverse = np.unique(keys, return_inverse=True)
                for j, key in enumerate(codes):
                    idx = np.flatnonzero(inverse == j)
                    files.write(key, table.take(pa.array(idx)), bounds[idx])
                done += table.num_rows
                if progress is not None:
                    progress(done)
            parts = files.close()
            index = {"source": src.name, "crs": crs.to_wkt(), "key": key_name, "by": by, "grid_km": grid_km,
                     "fid": fid_name, "rows": done, "partitions": [asdict(p) for p in parts]}
            (tmp / INDEX).write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
        except BaseException:
            files.abandon()
            raise
    return parts


def _with_fids(table: pa.Table, geom_col: str, fid_name: str, fids) -> pa.Table:
    """A batch with its geometry column named as partitions name it and the source's feature ids appended."""
    if geom_col != _GEOMETRY:
        table = table.rename_columns([_GEOMETRY if c == geom_col else c for c in table.column_names])
    return table.append_column(fid_name, pa.array(fids, pa.int64()))


def _keys(table: pa.Table, bounds: np.ndarray, by: str | None, cell: float | None) -> np.ndarray:
    """The partition of each row: the value of the field ``by`` as text, or the ``cell``-sized grid tile of the
    centre of its box (``"x_y"``)."""
    if by is not None:
        keys = pc.cast(table.column(by), pa.string()).to_numpy(zero_copy_only=False)
        return np.array(["" if k is None else str(k) for k in keys], dtype=object)
    cx = np.floor((bounds[:, 0] + bounds[:, 2]) / 2 / cell).astype("int64")
    cy = np.floor((bounds[:, 1] + bounds[:, 3]) / 2 / cell).astype("int64")
    return np.char.add(np.char.add(cx.astype(str), "_"), cy.astype(str)).astype(object)


class _PartFiles:
    """The GeoParquet file of each partition being written into ``folder``, with its rows and box."""

    def __init__(self, folder: Path, key_name: str, crs: CRS):
        self.folder, self.key_name, self.crs = folder, key_name, crs
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.boxes: dict[str, np.ndarray] = {}
        self.rows: dict[str, int] = {}
        self.paths: dict[str, str] = {}

    def write(self, key: str, part: pa.Table, bounds: np.ndarray) -> None:
        """Append the rows ``part`` (their boxes ``bounds``) to the partition ``key``, opening it if new."""
        if key not in self.writers:
            self._open(key, part.schema)
        self.writers[key].write_table(part.cast(self.writers[key].schema))
        box = self.boxes[key]
        self.boxes[key] = np.r_[np.minimum(box[:2], np.nanmin(bounds[:, :2], axis=0)),
                                np.maximum(box[2:], np.nanmax(bounds[:, 2:], axis=0))]
        self.rows[key] += len(bounds)

    def _open(self, key: str, schema: pa.Schema) -> None:
        folder = self.folder / f"{self.key_name}={_safe(key)}"
        n = 1
        while folder.exists():  # two keys that read the same as a folder name ("a/b", "a_b")
            n += 1
            folder = self.folder / f"{self.key_name}={_safe(key)}~{n}"
        folder.mkdir()
        self.paths[key] = f"{folder.name}/part.parquet"
        self.writers[key] = pq.ParquetWriter(folder / "part.parquet", _geo_schema(schema, self.crs))
        self.boxes[key] = np.array([np.inf, np.inf, -np.inf, -np.inf])
        self.rows[key] = 0

    def close(self) -> list[Partition]:
        """Close every file; the partitions written, by key."""
        for w in self.writers.values():
            w.close()
        return [Partition(str(k), self.paths[k], self.rows[k], [float(v) for v in self.boxes[k]])
                for k in sorted(self.writers)]

    def abandon(self) -> None:
        """Close every file after a failure (the staging folder is removed with them)."""
        for w in self.writers.values():
            try:
                w.close()
            except Exception:
                pass


def _geo_schema(schema: pa.Schema, crs: CRS) -> pa.Schema:
    """The batch schema with GeoParquet 1.0 metadata (WKB geometry, the layer's CRS as PROJJSON)."""
    geo = {"version": "1.0.0", "primary_column": _GEOMETRY,
           "columns": {_GEOMETRY: {"encoding": "WKB", "geometry_types": [], "crs": json.loads(crs.to_json())}}}
    fields = [pa.field(f.name, pa.binary()) if f.name == _GEOMETRY else f for f in schema]
    return pa.schema(fields, metadata={b"geo": json.dumps(geo).encode()})


def read_index(path) -> dict:
    """The index of a partitioned layer (``_partitions.json``) with its partitions as :class:`Partition`."""
    path = Path(path)
    try:
        index = json.loads((path / INDEX).read_text(encoding="utf-8"))
        index["partitions"] = [Partition(**p) for p in index["partitions"]]
        index["crs"] = CRS.from_user_input(index["crs"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LayerReadError(f"{path}: not a readable partitioned layer ({INDEX}: {exc})") from None
    return index


def read_partitioned(path, bbox=None, bbox_crs=None) -> tuple[gpd.GeoDataFrame, list[Partition]]:
    """Read a partitioned layer: the features whose box meets ``bbox`` (in ``bbox_crs``, default the layer's),
    opening only the partitions whose box meets it; or all. Returns the features and the partitions read."""
    path = Path(path)
    index = read_index(path)
    crs = index["crs"]
    parts = index["partitions"]
    if bbox is not None:
        x0, y0, x1, y1 = transform_bbox(bbox, bbox_crs, crs)
        parts = [p for p in parts if p.bbox[0] <= x1 and p.bbox[2] >= x0 and p.bbox[1] <= y1 and p.bbox[3] >= y0]
    frames = []
    for p in parts:
        try:
            frames.append(gpd.read_parquet(path / p.path))
        except Exception as exc:
            raise LayerReadError(f"{path / p.path}: cannot read ({str(exc).splitlines()[0]})") from None
    if frames:
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry=_GEOMETRY, crs=crs)
    else:
        gdf = gpd.GeoDataFrame({_GEOMETRY: gpd.GeoSeries([], crs=crs)}, geometry=_GEOMETRY, crs=crs)
    if bbox is not None and len(gdf):  # the rows whose box meets it, not whole partitions
        b = shapely.bounds(gdf.geometry.values)
        gdf = gdf[(b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)]
    fid = index.get("fid")
    if fid in gdf.columns:  # ids from the source, the same whichever partitions were read
        gdf = gdf.set_index(fid)  # named fid, unless the source has a field of that name (it stays a column)
        gdf = gdf.rename_axis(None if "fid" in gdf.columns else "fid")
    return gdf, parts
