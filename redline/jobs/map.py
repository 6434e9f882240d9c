"""``redline map``: the one map (一张图) of a district's control lines, its projects screened, as one HTML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..analyses.screening import load_rules, screen
from ..io import LayerCache, atomic_page, check_output, prepare_projects
from ..maps import TileTarget, build_map, load_theme, render_html
from ..specs.workspace import Workspace
from ..text import t
from .common import check_layer_kinds
from .indicators import display_lang

__all__ = ["MapRun", "map_job"]


@dataclass
class MapRun:
    """What a map run wrote: the page's size, and the notes of the reads and of the drawing."""

    out: Path
    size: int
    notes: list[str] = field(default_factory=list)


def _read_notes(read: LayerCache, ws: Workspace, projects, project_read: dict) -> list[str]:
    """What happened to features on reading (dropped, repaired, warnings), for every input: worth saying."""
    roles = {**{k: (p, {"geometry": "polygon"}) for k, p in ws.layers.items()},
             "boundary": (ws.boundary, {"geometry": "polygon"}),
             **({"units": (ws.units, {"geometry": "polygon"})} if ws.units else {}),
             **({"projects": (projects, {"geometry": "any", **project_read})} if projects is not None else {})}
    return [f"{name}: {n}" for name, (p, how) in roles.items() for n in read(p, **how).report.notes
            if " dropped — " in n or " repaired: " in n or n.startswith("warning:")]


def map_job(ws: Workspace, out, *, projects=None, basemap: str = "osm", tianditu_key=None, title=None,
            lang: str = "zh", read_projects: dict | None = None, progress=None) -> MapRun:
    """Check the output, the layer kinds, the theme and the rules, read every layer, screen the projects (no
    rings), draw the map and write it to ``out`` — layers too large for one page as raster tiles in a folder
    beside it (``map.html`` → ``map_files/``). ``read_projects``: keywords of :func:`redline.io.read_layer` for
    the projects (``crs``, ``options``); ``progress(description, done, total)`` follows the tiles."""
    read_projects = read_projects or {}
    check_output(out)
    check_layer_kinds(ws)
    theme = load_theme()  # the specs checked before any layer is read
    rules = load_rules() if projects is not None else None
    read = LayerCache()
    layers = {k: read(p, geometry="polygon").gdf for k, p in ws.layers.items()}
    district = read(ws.boundary, geometry="polygon").gdf
    towns = read(ws.units, geometry="polygon").gdf if ws.units else None
    notes = _read_notes(read, ws, projects, read_projects)
    result = None
    if projects is not None:
        proj, rep = read(projects, geometry="any", **read_projects)
        proj = prepare_projects(proj, rep)
        result = screen(proj, layers, boundary=district, buffers=[], lang=lang, rules=rules,
                        repaired={r["id"]: r.get("repair", "") for r in rep.repaired})
    if title is None and "name" in district.columns:
        title = t("jobs.map.title", display_lang(lang), district=district.iloc[0]["name"])
    with atomic_page(out, inputs=[ws.boundary, *ws.layers.values()]) as (tmp, files):
        built = build_map(layers, boundary=district, units=towns, units_by=ws.by, screening=result, lang=lang,
                          basemap=basemap, tianditu_key=tianditu_key, title=title, theme=theme,
                          tiles=TileTarget(files, quote(files.name), progress))
        page = render_html(built.map)
        tmp.write_text(page, encoding="utf-8")
    size = len(page.encode("utf-8")) + sum(ts.bytes for ts in built.tiles.values())
    return MapRun(Path(out), size, [*notes, *built.notes])
