"""``redline convert``: a layer from one format to another — 国土TXT, Shapefile (GBK), GeoPackage, DXF, KML,
GeoJSON … — checked and repaired on the way in like every read, written atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyproj import CRS

from ..errors import OutputError
from ..geometry.crs import describe_crs, working_crs
from ..io import read_layer
from ..io.write import output_formats, write_as
from .common import refuse_overwrite

__all__ = ["ConvertRun", "convert_job"]

#: formats whose coordinates are metres: a lon/lat layer is reprojected to its CGCS2000 3° zone first
_METRIC_ONLY = {".dxf"}


@dataclass
class ConvertRun:
    """What a conversion wrote: the file, how many features, and the notes of the read and the write."""

    out: Path
    features: int
    notes: list[str] = field(default_factory=list)


def convert_job(src, out, *, read: dict | None = None, encoding: str | None = None,
                out_encoding: str | None = None, id_field: str | None = None) -> ConvertRun:
    """Read ``src`` (any format :func:`redline.io.read_layer` reads; ``read``: its ``crs``, ``options``) and write it
    to ``out`` in the format of its suffix (:func:`redline.io.write.write_as`). ``id_field`` names the column that
    becomes the id of each feature (``project_id``: a 国土TXT's 地块编号, a KML placemark's name)."""
    out = Path(out)
    if out.suffix.lower() not in output_formats():
        raise OutputError(f"{out}: unknown output format {out.suffix or '(no suffix)'!r}; use one of "
                          f"{', '.join(output_formats())}")
    refuse_overwrite([out], [src])
    gdf, report = read_layer(src, geometry="any", encoding=encoding, **(read or {}))
    notes = [f"{Path(str(src)).name}: {n}" for n in report.notes]
    if id_field is not None:
        if id_field not in gdf.columns:
            raise OutputError(f"{src}: no column {id_field!r} for --id-field; columns: "
                              f"{', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}")
        gdf = gdf.drop(columns=["project_id"], errors="ignore").rename(columns={id_field: "project_id"})
    if out.suffix.lower() in _METRIC_ONLY and CRS.from_user_input(gdf.crs).is_geographic:
        target = working_crs(gdf)
        gdf = gdf.to_crs(target)
        notes.append(f"lon/lat reprojected to {describe_crs(target)}: {out.suffix} holds metres")
    written, more = write_as(gdf, out, encoding=out_encoding)
    return ConvertRun(written, len(gdf), notes + [f"{out.name}: {n}" for n in more])
