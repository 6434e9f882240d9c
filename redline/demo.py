"""``redline demo``: the main job on the bundled sample county (黔江区)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._resources import resource_dir
from .analyses.scorecard import load_recipe
from .analyses.screening import ScreeningResult, screen
from .check import summarize_layer
from .io import atomic_output, read_layer, write_tables
from .workspace import IndicatorReport, load_workspace, run_indicators

__all__ = ["DemoResult", "run_demo", "write_demo", "SAMPLE_LAYERS", "SCREEN_KINDS"]

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
        }


def run_demo(sample_dir: str | Path | None = None, progress: bool = True, lang: str = "zh") -> DemoResult:
    """Check every sample layer, measure the indicators and scorecard of the sample county, screen its projects."""
    sample = Path(sample_dir) if sample_dir is not None else resource_dir("sample")
    read, reports = {}, {}
    checks = []
    names = list(SAMPLE_LAYERS)
    with _progress(progress, len(names)) as advance:
        for name in names:
            gdf, report = read_layer(sample / SAMPLE_LAYERS[name], geometry="any" if name == "projects" else "polygon")
            read[name], reports[name] = gdf, report
            summary = summarize_layer(gdf, report)
            summary["path"] = f"{sample.name}/{SAMPLE_LAYERS[name]}"
            checks.append(summary)
            advance(name)
    boundary = read["boundary"]
    cache = {(sample / SAMPLE_LAYERS[n]).resolve(): (read[n], reports[n]) for n in names}

    def reader(path, **kwargs):
        hit = cache.get(Path(path).resolve())
        return hit if hit is not None else read_layer(path, **kwargs)

    workspace = load_workspace(sample / "workspace.toml")
    recipe = load_recipe(resource_dir("analyses") / "qianjiang-2025.toml")
    indicators = run_indicators(workspace, recipe, lang, reader=reader)
    name = str(boundary.iloc[0].get("name", "district"))
    projects_check = next(c for c in checks if c["path"].endswith(SAMPLE_LAYERS["projects"]))
    screening = screen(read["projects"], {k: read[k] for k in SCREEN_KINDS if k in read}, boundary=boundary, lang=lang,
                       repaired=[r["id"] for r in projects_check["repaired"]])
    return DemoResult(checks, indicators, name, list(indicators.notes), screening=screening)


class _progress:
    """A rich progress bar over the sample layers (silent when disabled)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda name: None
        from rich.progress import Progress

        self._bar = Progress(transient=True)
        self._bar.start()
        task = self._bar.add_task("reading sample layers", total=self.total)
        return lambda name: self._bar.update(task, advance=1, description=f"read {name}")

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.stop()
        return False


def write_demo(result: DemoResult, out: str | Path, lang: str = "zh") -> list[Path]:
    """Write ``demo.json``, ``indicators.xlsx`` (one sheet per table) and ``indicators.md`` into ``out``."""
    out = Path(out)
    target = out / "demo.json"
    with atomic_output(target) as tmp:
        tmp.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2, sort_keys=True, default=str),
                       encoding="utf-8")
    tables = result.indicators.tables(lang)
    return [target, write_tables(tables, out / "indicators.xlsx"), write_tables(tables, out / "indicators.md")]
