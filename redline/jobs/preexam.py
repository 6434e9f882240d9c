"""The 用地预审 analysis of each screened project (:mod:`redline.report.preexam`), assembled from a report run:
the screening and its 占用地类, the townships each footprint lies in, where its coordinates came from, its map,
and every input file with its date and SHA-256."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import numpy as np
import shapely

from ..geometry.area import ellipsoidal_area
from ..geometry.clean import reproject
from ..report.preexam import ProjectCase, landuse_rows

__all__ = ["project_cases"]

_FORMATS = {"gtxt": "国土TXT", "dxf": "DXF", "kml": "KML", "coords": "坐标表", "geojson": "GeoJSON", "json": "GeoJSON",
            "gpkg": "GeoPackage", "shp": "Shapefile", "zip": "Shapefile", "gdb": "FileGDB", "fgb": "FlatGeobuf",
            "parquet": "GeoParquet"}


def _townships(run, projects) -> list[list[str]]:
    """The units (townships) each footprint meets with more than a square metre, by name."""
    if run.units is None or not run.ws.by or run.ws.by not in run.units.columns:
        return [[] for _ in range(len(projects))]
    units = reproject(run.units, projects.crs)
    tree = shapely.STRtree(units.geometry.values)
    out = []
    for geom in projects.geometry.values:
        hit = tree.query(geom, predicate="intersects")
        parts = shapely.intersection(units.geometry.values[hit], geom)
        area = ellipsoidal_area(parts, crs=projects.crs) if len(hit) else np.zeros(0)
        out.append([str(n) for n, a in zip(units[run.ws.by].values[hit], area) if a > 1.0])
    return out


_DATUMS_ZH = {"CGCS2000": "2000国家大地坐标系", "China Geodetic Coordinate System 2000": "2000国家大地坐标系",
              "Xian 1980": "1980西安坐标系", "Beijing 1954": "1954北京坐标系"}


def crs_words(name: str, lang: str = "zh") -> str:
    """A CRS's name as a Chinese planning document writes it.

    Examples
    --------
    >>> crs_words("CGCS2000 / 3-degree Gauss-Kruger zone 36"), crs_words("CGCS2000 / 3-degree Gauss-Kruger CM 108E")
    ('2000国家大地坐标系 3度带 第36带', '2000国家大地坐标系 3度带 中央经线108°')
    >>> crs_words("China Geodetic Coordinate System 2000")
    '2000国家大地坐标系（经纬度）'
    """
    if lang != "zh" or not name:
        return name or ""
    datum, _, projection = name.partition(" / ")
    words = _DATUMS_ZH.get(datum)
    if words is None:
        return name
    if not projection:
        return f"{words}（经纬度）"
    width = "3度带" if projection.startswith("3-degree") else "6度带"
    zone = re.search(r"zone (\d+)", projection)
    cm = re.search(r"CM (\d+)E", projection)
    where = f"第{zone.group(1)}带" if zone else f"中央经线{cm.group(1)}°" if cm else projection
    return f"{words} {width} {where}"


def _source(read, lang: str) -> str:
    """Where the coordinates came from: the file, its format and its CRS."""
    if read is None:
        return ""
    suffix = Path(read.path).suffix.lstrip(".").lower()
    fmt = _FORMATS.get(read.format or suffix, suffix.upper())
    crs = crs_words(read.crs_name or read.crs or "", lang)
    return f"{Path(read.path).name}（{fmt}，{crs}）" if lang == "zh" else f"{Path(read.path).name} ({fmt}, {crs})"


def _sources(provenance: list[dict]) -> list[dict]:
    rows = []
    for entry in provenance:
        path = entry["path"]
        when = date.fromtimestamp(os.stat(path).st_mtime).isoformat() if os.path.exists(path) else ""
        rows.append({"name": Path(path).name, "date": when, "crs": str(entry.get("crs") or ""),
                     "sha256": entry.get("sha256") or ""})
    return rows


def project_cases(run, provenance: list[dict]) -> list[ProjectCase]:
    """One :class:`~redline.report.preexam.ProjectCase` per screened project (none without a screening)."""
    result = run.screening
    if result is None:
        return []
    projects = result.projects
    towns = _townships(run, projects)
    kind_labels = {k: run.catalog[k].label(run.lang) for k in result.kinds}
    sources = _sources(provenance)
    notes = [n for n in result.notes if n.startswith("projects:") or "land use" in n]
    names = projects["name"].fillna("").astype(str).tolist() if "name" in projects.columns else [""] * len(projects)
    outside = (projects["outside_boundary_m2"].fillna(0.0).astype(float).tolist()
               if "outside_boundary_m2" in projects.columns else [0.0] * len(projects))
    cases = []
    for i, row in enumerate(projects.itertuples(index=False)):
        pid = row.project_id
        cases.append(ProjectCase(
            project_id=str(pid), name=names[i],
            category=str(row.category_label or ""), verdict=row.verdict, footprint_m2=float(row.footprint_m2),
            townships=towns[i], outside_m2=outside[i],
            source=_source(run.project_read, run.lang), hits=result.hits[result.hits["project_id"] == pid],
            kind_labels=kind_labels,
            landuse=landuse_rows(result.landuse, pid) if result.landuse is not None else None,
            png=run.pngs.get(pid), sources=sources, notes=notes, date=date.today().isoformat(), lang=run.lang))
    return cases
