"""``redline demo``: the main job on the bundled sample county (黔江区)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._resources import resource_dir
from .analyses.indicators import layer_shares
from .catalog import load_catalog
from .check import summarize_layer
from .io import atomic_output, read_layer

__all__ = ["DemoResult", "run_demo", "write_demo", "SAMPLE_LAYERS"]

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


@dataclass
class DemoResult:
    """What the demo computed: layer checks, shares, and notes on what was done."""

    checks: list[dict]
    shares: pd.DataFrame
    boundary_m2: float
    district_name: str
    labels: dict[str, dict[str, str]]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        shares = self.shares.reset_index().round(6).to_dict(orient="records")
        return {
            "district": self.district_name,
            "boundary_m2": round(self.boundary_m2, 3),
            "layers": self.checks,
            "shares": shares,
            "notes": self.notes,
        }


def run_demo(sample_dir: str | Path | None = None, progress: bool = True) -> DemoResult:
    """Check every sample layer and measure the share of each control line in the district."""
    sample = Path(sample_dir) if sample_dir is not None else resource_dir("sample")
    catalog = load_catalog()
    read = {}
    checks = []
    names = list(SAMPLE_LAYERS)
    with _progress(progress, len(names)) as advance:
        for name in names:
            gdf, report = read_layer(sample / SAMPLE_LAYERS[name], geometry="any" if name == "projects" else "polygon")
            read[name] = gdf
            summary = summarize_layer(gdf, report)
            summary["path"] = f"{sample.name}/{SAMPLE_LAYERS[name]}"
            checks.append(summary)
            advance(name)
    boundary = read["boundary"]
    kinds = [k for k in catalog if k in read]
    notes = [
        f"{k}: reprojected from {read[k].crs.to_string()} to {boundary.crs.to_string()} for the overlay"
        for k in kinds
        if not read[k].crs.equals(boundary.crs)
    ]
    shares = layer_shares(boundary, {k: read[k] for k in kinds})
    labels = {k: {"zh": catalog[k].name_zh, "en": catalog[k].name_en} for k in kinds}
    name = str(boundary.iloc[0].get("name", "district"))
    return DemoResult(checks, shares, shares.attrs["boundary_m2"], name, labels, notes)


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


def write_demo(result: DemoResult, out: str | Path) -> list[Path]:
    """Write ``demo.json`` and ``shares.csv`` (UTF-8 with BOM so Excel shows Chinese) into ``out``."""
    out = Path(out)
    files = []
    target = out / "demo.json"
    with atomic_output(target) as tmp:
        tmp.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    files.append(target)
    table = result.shares.copy()
    table.insert(0, "name_zh", [result.labels[k]["zh"] for k in table.index])
    target = out / "shares.csv"
    with atomic_output(target) as tmp:
        table.to_csv(tmp, encoding="utf-8-sig", float_format="%.6f")
    files.append(target)
    return files
