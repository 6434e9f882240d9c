"""``redline demo``: the main job on the bundled sample county (黔江区)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._resources import resource_dir
from ..analyses.change import ChangeResult, change
from ..analyses.conflicts import ConflictResult, conflicts
from ..analyses.monitor import MonitorResult, monitor
from ..analyses.scorecard import load_recipe
from ..analyses.screening import ScreeningResult, screen
from .check import summarize_layer
from .common import json_text
from ..io import LayerCache, atomic_folder, atomic_output, check_output, open_raster, prepare_projects
from ..specs.workspace import Workspace, load_workspace
from .indicators import IndicatorReport, run_indicators
from .report import build_outputs

__all__ = ["DemoResult", "run_demo", "write_demo", "demo_job", "SAMPLE_LAYERS", "SCREEN_KINDS"]

#: Files of the sample county: name -> file in data/qianjiang (the control lines are catalog kinds).
SAMPLE_LAYERS = {
    "boundary": "boundary.gpkg",
    "townships": "townships.gpkg",
    "eco_redline": "eco_redline.gpkg",
    "nature_reserve": "nature_reserve.gpkg",
    "basic_farmland": "basic_farmland.gpkg",
    "urban_boundary": "urban_boundary.gpkg",
    "water_source": "water_source.gpkg",
    "land_use": "land_use.gpkg",
    "projects": "projects.geojson",
}
#: The project sites as a design institute hands them over: a 国土TXT (GBK, zone-prefixed eastings), screened too.
SAMPLE_SITES = "sites.txt"

#: The layer kinds the demo screens the sample projects against.
SCREEN_KINDS = ("eco_redline", "basic_farmland", "urban_boundary", "nature_reserve", "water_source")


@dataclass
class DemoResult:
    """What the demo computed: layer checks, indicators (shares, ledger, land use, quotas, scorecard), screening."""

    checks: list[dict]
    indicators: IndicatorReport
    district_name: str
    notes: list[str] = field(default_factory=list)
    #: the sample projects screened against the control lines (``redline screen``)
    screening: ScreeningResult | None = None
    #: the sample workspace and the layers read from it (for the map and the report)
    workspace: Workspace | None = None
    cache: LayerCache | None = None
    #: three-line conflicts, red line v1 → v2 change, human activity in the red line 2020 → 2024 (issue 6)
    conflicts: ConflictResult | None = None
    change: ChangeResult | None = None
    monitor: MonitorResult | None = None
    #: the 国土TXT project sites (:data:`SAMPLE_SITES`) screened the same way (issue 12)
    sites: ScreeningResult | None = None
    #: the folder the sample was read from
    sample_dir: Path | None = None

    @property
    def shares(self) -> pd.DataFrame:
        """Area and share of each control line (and zone) in the district."""
        return self.indicators.shares

    @property
    def boundary_m2(self) -> float:
        return self.indicators.boundary_m2

    def to_json(self) -> dict:
        return {
            "district": self.district_name,
            "checks": self.checks,
            "indicators": self.indicators.to_json(),
            "notes": self.notes,
            "screening": self.screening.to_json()["projects"] if self.screening is not None else None,
            "sites": self.sites.to_json()["projects"] if self.sites is not None else None,
            "conflicts": self.conflicts.to_json()["pairs"] if self.conflicts is not None else None,
            "change": {k: self.change.to_json()[k] for k in ("totals", "counts", "decreased")}
            if self.change is not None else None,
            "monitor": {k: self.monitor.to_json()[k] for k in ("summary", "dropped", "total_m2", "min_patch_m2")}
            if self.monitor is not None else None,
        }


def run_demo(sample_dir: str | Path | None = None, progress: bool = True, lang: str = "zh") -> DemoResult:
    """Check every sample layer, measure the indicators and scorecard of the sample county, screen its projects."""
    sample = Path(sample_dir) if sample_dir is not None else resource_dir("sample")
    cache = LayerCache()  # each sample file read once, for the checks, the indicators, the screening and the report
    read = {}
    checks = []
    names = list(SAMPLE_LAYERS)
    with _progress(progress, len(names)) as advance:
        for name in names:
            gdf, report = cache(sample / SAMPLE_LAYERS[name], geometry="any" if name == "projects" else "polygon")
            read[name] = gdf
            summary = summarize_layer(gdf, report)
            summary["path"] = f"{sample.name}/{SAMPLE_LAYERS[name]}"
            checks.append(summary)
            advance(name)
    boundary = read["boundary"]

    workspace = load_workspace(sample / "workspace.toml")
    recipe = load_recipe(resource_dir("analyses") / "qianjiang-2025.toml")
    indicators = run_indicators(workspace, recipe, lang, reader=cache)
    name = str(boundary.iloc[0].get("name", "district"))
    projects_check = next(c for c in checks if c["path"].endswith(SAMPLE_LAYERS["projects"]))
    screening = screen(read["projects"], {k: read[k] for k in SCREEN_KINDS if k in read}, boundary=boundary, lang=lang,
                       repaired={r["id"]: r.get("repair", "") for r in projects_check["repaired"]},
                       landuse=read["land_use"])
    found, changed, watched = _lines_change_activity(sample, read, cache)
    return DemoResult(checks, indicators, name, list(indicators.notes), screening=screening, workspace=workspace,
                      cache=cache, conflicts=found, change=changed, monitor=watched,
                      sites=_screen_sites(sample, read, cache, boundary, lang), sample_dir=sample)


def _screen_sites(sample: Path, read: dict, cache: LayerCache, boundary, lang: str) -> ScreeningResult | None:
    """The sample 国土TXT (:data:`SAMPLE_SITES`) read like any projects file and screened (None without it)."""
    path = sample / SAMPLE_SITES
    if not path.exists():
        return None
    sites, report = cache(path, geometry="any")
    result = screen(prepare_projects(sites, report), {k: read[k] for k in SCREEN_KINDS if k in read},
                    boundary=boundary, lang=lang, landuse=read.get("land_use"))
    result.notes[:0] = [f"{SAMPLE_SITES}: {n}" for n in report.notes]
    return result


#: Sample files of the conflicts / change / monitor part of the demo.
SAMPLE_CHANGE = {"eco_redline_v2": "eco_redline_v2.gpkg", "before": "landcover_2020.tif", "after": "landcover_2024.tif"}
#: Patches below this area (m²) are dropped in the demo's monitoring (half a hectare).
DEMO_MIN_PATCH = 5000.0


def _lines_change_activity(sample: Path, read: dict, cache: LayerCache):
    """Three-line conflicts, red line v1 → v2 change, human activity 2020 → 2024 (skipped when files are missing)."""

    towns = read["townships"]
    found = conflicts({k: read[k] for k in ("eco_redline", "basic_farmland", "urban_boundary")},
                      boundary=read["boundary"], units=towns, by="name")
    changed = watched = None
    if (sample / SAMPLE_CHANGE["eco_redline_v2"]).exists():
        v2, _ = cache(sample / SAMPLE_CHANGE["eco_redline_v2"], geometry="polygon")
        changed = change(read["eco_redline"], v2, key="hx_id", units=towns, by="name")
    if (sample / SAMPLE_CHANGE["before"]).exists() and (sample / SAMPLE_CHANGE["after"]).exists():
        with open_raster(sample / SAMPLE_CHANGE["before"]) as b, open_raster(sample / SAMPLE_CHANGE["after"]) as a:
            watched = monitor(b, a, read["eco_redline"], units=towns, by="name", min_patch=DEMO_MIN_PATCH)
    return found, changed, watched


class _progress:
    """A rich progress bar over the sample layers (silent when disabled)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda name: None
        from rich.console import Console
        from rich.progress import Progress

        err = Console(stderr=True)  # on stderr, and only on a terminal: stdout stays the result
        self._bar = Progress(transient=True, console=err, disable=not err.is_terminal)
        self._bar.start()
        task = self._bar.add_task("reading sample layers", total=self.total)
        return lambda name: self._bar.update(task, advance=1, description=f"read {name}")

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.stop()
        return False


def write_demo(result: DemoResult, out: str | Path, lang: str = "zh", basemap: str = "osm") -> list[Path]:
    """Write ``demo.json`` and everything :func:`redline.jobs.report.build_outputs` makes — ``indicators.xlsx``,
    ``map.html``, ``maps/*.png``, ``report.html``, ``report.docx``, ``results.gpkg`` — into ``out``."""
    out = Path(out)
    with atomic_folder(out) as stage:  # all files or none: a failed run leaves no half-filled folder
        built = build_outputs(result.workspace, stage, lang=lang, basemap=basemap, cache=result.cache,
                              indicators=result.indicators, screening=result.screening,
                              projects=(result.sample_dir or resource_dir("sample")) / SAMPLE_LAYERS["projects"])
        result.notes.extend(n for n in built.notes if n not in result.notes)
        target = stage / "demo.json"  # last, so it holds the notes of the drawing too
        with atomic_output(target) as tmp:
            tmp.write_text(json_text(result.to_json()),
                           encoding="utf-8")
    return [out / f.relative_to(stage) for f in (target, *built.files)]


def demo_job(out: str | Path, lang: str = "zh", basemap: str = "osm",
             progress: bool = True) -> tuple[DemoResult, list[Path]]:
    """``redline demo``: the output folder checked, the demo run (:func:`run_demo`) and written (:func:`write_demo`);
    the result and the files written."""
    check_output(out, folder=True)
    result = run_demo(progress=progress, lang=lang)
    return result, write_demo(result, out, lang, basemap=basemap)
