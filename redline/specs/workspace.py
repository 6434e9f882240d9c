"""Workspaces: the files of one district described once, and the indicator run over them.

A workspace TOML names the boundary, the control-line layers by kind, the units
(townships) and their id field, the land-use layer and the quota table; paths
are relative to the TOML. :func:`run_indicators` reads them (through
:mod:`redline.io`) and calls the pure compute functions of
:mod:`redline.analyses.indicators` and :mod:`redline.analyses.scorecard`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..analyses.indicators import (
    Ledger,
    LanduseResult,
    check_quotas,
    validate_quotas,
    class_area_by_unit,
    landuse_indicators,
    layer_shares,
    ledger,
    load_class_map,
    prepare_layer,
    zone_column,
)
from ..analyses.scorecard import LANDCOVER_METRICS, Recipe, evaluate, metrics_from
from .catalog import kind_problems, load_catalog
from ..errors import CatalogError, InputError
from ..io import read_layer, read_table, read_toml
from .schema import Key, check, spec_error

__all__ = ["Workspace", "load_workspace", "IndicatorReport", "run_indicators"]


@dataclass(frozen=True)
class Workspace:
    """Input files of an indicator run (any may be None except the boundary)."""

    boundary: Path | None = None
    layers: dict[str, Path] = field(default_factory=dict)
    units: Path | None = None
    by: str | None = None
    landuse: Path | None = None
    landuse_field: str | None = None
    quotas: Path | None = None
    landcover: Path | None = None
    landcover_classes: Path | None = None

    def merged(self, **overrides) -> "Workspace":
        """A copy with the given non-empty values replacing these (command-line options over the file)."""
        layers = {**self.layers, **(overrides.pop("layers", None) or {})}
        return replace(self, layers=layers, **{k: v for k, v in overrides.items() if v})


#: The keys of a workspace TOML (paths are relative to the file).
WORKSPACE_SCHEMA = {
    "boundary": Key("string", nonempty=True, what="a path (a string)"),
    "layers": Key("table", values=Key("string", nonempty=True, what="a path (a string)"),
                  what="a table of kind = path"),
    "units": Key("string", nonempty=True, what="a path (a string)"),
    "by": Key("string", nonempty=True, what="a field name (a string)"),
    "landuse": Key("string", nonempty=True, what="a path (a string)"),
    "landuse_field": Key("string", nonempty=True, what="a field name (a string)"),
    "quotas": Key("string", nonempty=True, what="a path (a string)"),
    "landcover": Key("string", nonempty=True, what="a path (a string)"),
    "landcover_classes": Key("string", nonempty=True, what="a path (a string)"),
}


def load_workspace(path: str | os.PathLike) -> Workspace:
    """Read a workspace TOML; paths are resolved relative to it.

    Every problem (a value of the wrong type, an unknown key, a layer kind the catalog doesn't
    know) is listed at once in one :class:`CatalogError`, before anything is read.
    """
    path = Path(path)
    data = read_toml(path, "workspace TOML")
    base = path.parent
    problems = check(data, WORKSPACE_SCHEMA)
    layers = data.get("layers", {})
    if isinstance(layers, dict):
        problems += kind_problems(layers, load_catalog(), "layers.{kind}: ")
    if problems:
        raise spec_error(path, "workspace", problems)

    def resolve(value):
        return base / value if value else None

    return Workspace(
        boundary=resolve(data.get("boundary")),
        layers={k: base / v for k, v in layers.items()},
        units=resolve(data.get("units")),
        by=data.get("by"),
        landuse=resolve(data.get("landuse")),
        landuse_field=data.get("landuse_field"),
        quotas=resolve(data.get("quotas")),
        landcover=resolve(data.get("landcover")),
        landcover_classes=resolve(data.get("landcover_classes")),
    )


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float):
        return round(value, 6)
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _target_text(comparator: str, value: float, zh: bool) -> str:
    if comparator == "no_decrease":
        return f"不减少 (基期 {value:g})" if zh else f"no decrease (baseline {value:g})"
    return {">=": "≥", "<=": "≤", "==": "="}[comparator] + f"{value:g}"


@dataclass
class IndicatorReport:
    """Everything an indicator run measured."""

    boundary_m2: float
    shares: pd.DataFrame
    labels: dict[str, dict[str, str]]
    ledger: Ledger | None = None
    landuse: LanduseResult | None = None
    #: land-cover class areas per unit (the district, and each unit of the ledger) and group shares
    landcover: pd.DataFrame | None = None
    landcover_groups: pd.DataFrame | None = None
    quotas: pd.DataFrame | None = None
    scorecard: pd.DataFrame | None = None
    recipe: Recipe | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The machine-readable result (keys: boundary_area_km2, layers, units, landuse, quotas, scorecard, notes)."""
        layers = self.shares.assign(outside_km2=self.shares["outside_m2"] / 1e6)
        out = {"boundary_area_km2": round(self.boundary_m2 / 1e6, 6), "layers": _records(layers), "notes": self.notes}
        if self.ledger is not None:
            units = []
            for uid, group in self.ledger.rows.groupby("unit", sort=False):
                area = float(self.ledger.units.set_index("unit").loc[uid, "unit_area_m2"])
                units.append({"unit": uid, "area_km2": round(area / 1e6, 6), "layers": _records(group.drop(columns="unit"))})
            out["units"] = units
            out["units_total"] = _records(self.ledger.totals)
            out["tiling"] = {k: round(v, 3) for k, v in self.ledger.tiling.items()}
        if self.landuse is not None:
            out["landuse"] = {k: _clean(v) for k, v in self.landuse.indicators.items()}
            out["landuse_classes"] = _records(self.landuse.by_class)
        if self.landcover is not None:
            out["landcover"] = _records(self.landcover)
            out["landcover_groups"] = _records(self.landcover_groups)
        if self.quotas is not None:
            out["quotas"] = _records(self.quotas)
        if self.scorecard is not None:
            out["scorecard"] = _records(self.scorecard)
        return out

    def tables(self, lang: str = "zh") -> dict[str, pd.DataFrame]:
        """Display tables with headers in ``lang``, for XLSX / Markdown / CSV."""
        zh = lang != "en"
        t = {}
        if self.scorecard is not None:
            sc = self.scorecard
            t["评价表" if zh else "scorecard"] = pd.DataFrame({
                ("指标" if zh else "indicator"): sc["name"],
                ("单位" if zh else "unit"): sc["unit"],
                ("目标值" if zh else "target"): [_target_text(c, v, zh) for c, v in zip(sc["comparator"], sc["target"])],
                ("现状值" if zh else "value"): sc["value"],
                ("状态" if zh else "status"): sc["status"],
            })
        label = lambda k: self.labels.get(k, {}).get(lang, k)  # noqa: E731
        sh = self.shares
        t["控制线占比" if zh else "shares"] = pd.DataFrame({
            ("图层" if zh else "layer"): [label(k) for k in sh["kind"]],
            ("分区" if zh else "zone"): sh["zone"].fillna("全部" if zh else "all"),
            ("面积(平方公里)" if zh else "area (km²)"): sh["area_km2"].round(4),
            ("面积(公顷)" if zh else "area (ha)"): sh["area_ha"].round(2),
            ("面积(万亩)" if zh else "area (10⁴ mu)"): sh["area_wanmu"].round(4),
            ("占比(%)" if zh else "share (%)"): sh["share_pct"].round(2),
            ("界外面积(公顷)" if zh else "outside (ha)"): (sh["outside_m2"] / 1e4).round(2),
        })
        if self.ledger is not None:
            rows = self.ledger.rows[self.ledger.rows["zone"].isna()]
            wide = rows.pivot_table(index="unit", columns="kind", values=["area_ha", "share_pct"], sort=False)
            order = list(dict.fromkeys(rows["unit"]))
            table = pd.DataFrame({("单位" if zh else "unit"): order})
            for kind in dict.fromkeys(rows["kind"]):
                table[f"{label(kind)}{'(公顷)' if zh else ' (ha)'}"] = wide[("area_ha", kind)].reindex(order).round(2).to_numpy()
                table[f"{label(kind)}{'(%)' if zh else ' (%)'}"] = wide[("share_pct", kind)].reindex(order).round(2).to_numpy()
            totals = self.ledger.totals[self.ledger.totals["zone"].isna()]
            total_row = {table.columns[0]: "合计" if zh else "total"}
            for rec in totals.itertuples(index=False):
                total_row[f"{label(rec.kind)}{'(公顷)' if zh else ' (ha)'}"] = round(rec.area_ha, 2)
                total_row[f"{label(rec.kind)}{'(%)' if zh else ' (%)'}"] = round(rec.share_pct, 2)
            t["台账" if zh else "ledger"] = pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)
        if self.landuse is not None:
            bc = self.landuse.by_class
            t["地类面积" if zh else "land use"] = pd.DataFrame({
                ("地类编码" if zh else "code"): bc["code"], ("地类名称" if zh else "name"): bc["name"],
                ("面积(公顷)" if zh else "area (ha)"): (bc["area_m2"] / 1e4).round(2),
                ("占比(%)" if zh else "share (%)"): bc["share_pct"].round(2),
            })
        if self.landcover is not None:
            lc = self.landcover
            t["地表覆盖" if zh else "land cover"] = pd.DataFrame({
                ("单位" if zh else "unit"): lc["unit"], ("类别" if zh else "class"): lc["code"],
                ("名称" if zh else "name"): lc["name"], ("面积(公顷)" if zh else "area (ha)"): (lc["area_m2"] / 1e4).round(2),
                ("占比(%)" if zh else "share (%)"): lc["share_pct"].round(2),
            })
        if self.quotas is not None:
            q = self.quotas
            names = {"farmland": "耕地保有量", "basic_farmland": "永久基本农田保护面积"}
            t["指标核查" if zh else "quotas"] = pd.DataFrame({
                ("单位" if zh else "unit"): q["unit"],
                ("指标" if zh else "indicator"): q["indicator"].map(names) if zh else q["indicator"],
                ("下达指标(亩)" if zh else "quota (mu)"): q["quota_mu"].round(2),
                ("现状(亩)" if zh else "measured (mu)"): q["measured_mu"].round(2),
                ("盈亏(亩)" if zh else "surplus (mu)"): q["surplus_mu"].round(2),
                ("状态" if zh else "status"): q["met"].map({True: "达标", False: "缺口"} if zh else {True: "met", False: "shortfall"}),
            })
        return t


def _about_features(note: str) -> bool:
    """Whether a read note says features were dropped or repaired (worth repeating for the boundary, units…)."""
    return " dropped — " in note or " repaired: " in note


def run_indicators(
    ws: Workspace, recipe: Recipe | None = None, lang: str = "zh", progress=None, reader=read_layer, measure=None
) -> IndicatorReport:
    """Read the workspace's files and measure every indicator they allow.

    ``progress`` is an optional callable ``progress(step)`` called as each input is read and each
    step is done (``"read boundary"``, …, ``"dissolve layers"``, …);
    ``reader`` reads one layer (default :func:`redline.io.read_layer`; the demo passes the
    layers it has already read). ``measure`` (e.g. :func:`redline.engines.dask.dask_measure`) takes the
    control-line areas elsewhere: the layers are then not read here, only their fields (for the zones).
    """
    if ws.boundary is None:
        raise InputError("no boundary given: use --boundary PATH or a workspace with 'boundary'")
    step = progress or (lambda name: None)
    catalog = load_catalog()
    unknown = kind_problems(ws.layers, catalog)
    if unknown:
        raise CatalogError("; ".join(unknown))
    # every spec is read and checked before the first layer is
    class_map = load_class_map() if ws.landuse is not None else None
    raster_classes = None
    if ws.landcover is not None or ws.landcover_classes is not None:
        from ..analyses.landcover import load_raster_classes

        raster_classes = load_raster_classes(ws.landcover_classes)
    notes: list[str] = []
    quotas = None
    if ws.quotas is not None:  # a bad quota table fails before any measuring
        if ws.units is None:
            raise InputError("quotas are per unit: give --units and --by as well")
        quotas = read_table(ws.quotas)
        validate_quotas(quotas, str(ws.quotas))
    boundary, brep = reader(ws.boundary, geometry="polygon")
    notes += [f"boundary: {n}" for n in brep.notes if _about_features(n)]
    step("read boundary")
    layers, zone_fields = {}, {}
    for kind, path in ws.layers.items():
        if measure is not None:  # measured elsewhere: the fields are enough here
            from ..engines.dask import layer_info

            layer_crs, _, fields = layer_info(str(path))
            layers[kind] = str(path)
            schema = gpd.GeoDataFrame(columns=[*fields, "geometry"], geometry="geometry", crs=layer_crs)
            zone_fields[kind] = zone_column(schema, catalog[kind].zone_fields) if catalog[kind].zones else None
            step(f"read {kind}")
            continue
        gdf, rep = reader(path, geometry="polygon")
        layers[kind] = gdf
        zone_fields[kind] = zone_column(gdf, catalog[kind].zone_fields) if catalog[kind].zones else None
        notes += [f"{kind}: {n}" for n in rep.notes]
        if gdf.crs is not None and not gdf.crs.equals(boundary.crs):
            notes.append(f"{kind}: measured in its own CRS {gdf.crs.to_string()} (the boundary and units "
                         f"reprojected to it from {boundary.crs.to_string()})")
        step(f"read {kind}")
    # each layer repaired, measured and dissolved once, for the shares and the ledger alike
    if measure is None:
        prepared = {kind: prepare_layer(gdf, zone_fields[kind]) for kind, gdf in layers.items()}
    else:
        prepared = layers
    step("dissolve layers")
    shares = layer_shares(boundary, prepared, zone_fields, measure=measure)
    whole = shares[shares["zone"].isna()] if "zone" in shares.columns else shares
    for row in whole.itertuples(index=False):  # a share of 0 because the layer is elsewhere is worth a warning
        if row.area_m2 <= 0 and getattr(row, "outside_m2", 0) > 0:
            notes.append(f"{row.kind}: warning: the layer lies entirely outside the boundary (share 0) — "
                         f"check that it is the right district's layer and CRS")
    labels = {k: {"zh": catalog[k].name_zh, "en": catalog[k].name_en} for k in layers}
    report = IndicatorReport(shares.attrs["boundary_m2"], shares, labels, notes=notes)
    units = None
    if ws.units is not None:
        if not ws.by:
            raise InputError("--units needs --by FIELD (the unit's id or name field)")
        units, urep = reader(ws.units, geometry="polygon")
        notes += [f"units: {n}" for n in urep.notes if _about_features(n)]
        report.ledger = ledger(units, ws.by, prepared, boundary=boundary, zone_fields=zone_fields, measure=measure)
        notes += report.ledger.notes
        step("read units")

    def frame(kind: str):
        layer = layers.get(kind)
        return reader(layer, geometry="polygon")[0] if isinstance(layer, str) else layer

    if ws.landuse is not None:
        lu, lrep = reader(ws.landuse, geometry="polygon")
        notes += [f"landuse: {n}" for n in lrep.notes if _about_features(n)]
        report.landuse = landuse_indicators(
            lu, boundary, class_map, code_field=ws.landuse_field,
            protected=frame("nature_reserve"), builtup=frame("urban_boundary"),
        )
        step("read landuse")
    if ws.landcover is not None:
        report.landcover, report.landcover_groups = _landcover(ws, boundary, units, frame("urban_boundary"),
                                                               raster_classes)
        notes += report.landcover.attrs.get("notes", [])
        step("read landcover")
    if ws.quotas is not None:
        if report.ledger is None:
            raise InputError("quotas are per unit: give --units and --by as well")
        measured = {}
        if "basic_farmland" in layers:
            measured["basic_farmland"] = report.ledger.rows.query("kind == 'basic_farmland' and zone.isna()").set_index("unit")["area_m2"]
        if report.landuse is not None:
            pieces = report.landuse.pieces
            measured["farmland"] = class_area_by_unit(pieces, class_map.codes("farmland", pieces["code"]), units, ws.by)
        report.quotas = check_quotas(quotas, measured, str(ws.quotas))
    if recipe is not None:
        report.recipe = recipe
        landuse = report.landuse.indicators if report.landuse else None
        report.scorecard = evaluate(recipe, metrics_from(shares, landuse, report.landcover_groups), lang)
    return report


#: Unit names of the land-cover table for the whole district and for the built-up area (see LANDCOVER_METRICS).
DISTRICT, BUILTUP = (unit for unit, _ in LANDCOVER_METRICS.values())


def _landcover(ws: Workspace, boundary, units, builtup, classes):
    """Class areas from the land-cover raster for the district, each unit, and the built-up area (green coverage)."""
    import geopandas as gpd

    from ..analyses.indicators import dissolve
    from ..analyses.landcover import group_shares, landcover_areas
    from ..io import open_raster

    district = dissolve(boundary.geometry.values)
    zones = [gpd.GeoDataFrame({"unit": [DISTRICT]}, geometry=[district], crs=boundary.crs)]
    if units is not None:
        zones.append(gpd.GeoDataFrame({"unit": units[ws.by].astype(str).to_numpy()}, geometry=units.geometry.values,
                                      crs=units.crs).to_crs(boundary.crs))
    if builtup is not None:
        area = dissolve(builtup.to_crs(boundary.crs).geometry.values).intersection(district)
        zones.append(gpd.GeoDataFrame({"unit": [BUILTUP]}, geometry=[area], crs=boundary.crs))
    zones = pd.concat(zones, ignore_index=True)
    with open_raster(ws.landcover) as raster:
        table = landcover_areas(raster, zones, "unit", classes)
    return table, group_shares(table, classes)
