"""The indicator run: a workspace's files read and checked, then every indicator they allow measured.

:func:`run_indicators` checks every spec and the quota table before the first layer is read, reads the files
(through :mod:`redline.io`) and calls the pure compute functions of :mod:`redline.analyses.indicators`,
:mod:`redline.analyses.landcover` and :mod:`redline.analyses.scorecard`. :func:`indicators_job` is what
``redline indicators`` and ``redline scorecard`` run: the workspace from its file and the options, the run,
and the tables written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import geopandas as gpd
import pandas as pd

from ..analyses.indicators import (
    Ledger,
    LanduseResult,
    check_quotas,
    class_area_by_unit,
    dissolve,
    landuse_indicators,
    layer_shares,
    ledger,
    load_class_map,
    prepare_layer,
    validate_quotas,
    zone_column,
)
from ..analyses.landcover import group_shares, landcover_areas, load_raster_classes
from ..analyses.scorecard import LANDCOVER_METRICS, Recipe, evaluate, load_recipe, metrics_from
from ..engines import measure_for
from ..errors import CatalogError, InputError
from ..io import open_raster, read_layer, read_table, write_tables
from ..io.info import layer_info
from ..specs.catalog import kind_problems, load_catalog
from ..specs.workspace import Workspace
from ..text import labels as text_labels, t
from .common import counted, district_workspace, refuse_overwrite

__all__ = ["IndicatorReport", "run_indicators", "indicators_job", "scorecard_key", "display_lang", "DISTRICT",
           "BUILTUP"]

#: Unit names of the land-cover table for the whole district and for the built-up area (see LANDCOVER_METRICS).
DISTRICT, BUILTUP = (unit for unit, _ in LANDCOVER_METRICS.values())


def display_lang(lang: str) -> str:
    """The language of the tables: English for ``"en"``, Chinese for anything else (as before the catalog)."""
    return "en" if lang == "en" else "zh"


def scorecard_key(lang: str) -> str:
    """The name of the scorecard table in ``lang`` (``评价表`` / ``scorecard``)."""
    return t("jobs.tables.scorecard", display_lang(lang))


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float):
        return round(value, 6)
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _target_text(comparator: str, value: float, lang: str) -> str:
    if comparator == "no_decrease":
        return t("jobs.cells.no_decrease", lang, value=value)
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
        shown = display_lang(lang)
        name = text_labels("jobs.tables", shown)
        parts = [("scorecard", self.scorecard is not None, self._scorecard_table), ("shares", True, self._shares_table),
                 ("ledger", self.ledger is not None, self._ledger_table),
                 ("landuse", self.landuse is not None, self._landuse_table),
                 ("landcover", self.landcover is not None, self._landcover_table),
                 ("quotas", self.quotas is not None, self._quotas_table)]
        return {name[key]: build(lang, text_labels("jobs.columns", shown)) for key, present, build in parts if present}

    def _label(self, kind: str, lang: str) -> str:
        return self.labels.get(kind, {}).get(lang, kind)

    def _scorecard_table(self, lang: str, col: dict) -> pd.DataFrame:
        sc = self.scorecard
        return pd.DataFrame({
            col["indicator"]: sc["name"],
            col["unit"]: sc["unit"],
            col["target"]: [_target_text(c, v, display_lang(lang)) for c, v in zip(sc["comparator"], sc["target"])],
            col["value"]: sc["value"],
            col["status"]: sc["status"],
        })

    def _shares_table(self, lang: str, col: dict) -> pd.DataFrame:
        sh = self.shares
        return pd.DataFrame({
            col["layer"]: [self._label(k, lang) for k in sh["kind"]],
            col["zone"]: sh["zone"].fillna(t("jobs.cells.all_zones", display_lang(lang))),
            col["area_km2"]: sh["area_km2"].round(4),
            col["area_ha"]: sh["area_ha"].round(2),
            col["area_wanmu"]: sh["area_wanmu"].round(4),
            col["share"]: sh["share_pct"].round(2),
            col["outside_ha"]: (sh["outside_m2"] / 1e4).round(2),
        })

    def _ledger_table(self, lang: str, col: dict) -> pd.DataFrame:
        shown = display_lang(lang)
        rows = self.ledger.rows[self.ledger.rows["zone"].isna()]
        wide = rows.pivot_table(index="unit", columns="kind", values=["area_ha", "share_pct"], sort=False)
        order = list(dict.fromkeys(rows["unit"]))
        table = pd.DataFrame({col["unit"]: order})
        for kind in dict.fromkeys(rows["kind"]):
            label = self._label(kind, lang)
            for column, value in (("layer_ha", "area_ha"), ("layer_share", "share_pct")):
                table[t(f"jobs.columns.{column}", shown, label=label)] = \
                    wide[(value, kind)].reindex(order).round(2).to_numpy()
        totals = self.ledger.totals[self.ledger.totals["zone"].isna()]
        total_row = {table.columns[0]: t("jobs.cells.total", shown)}
        for rec in totals.itertuples(index=False):
            label = self._label(rec.kind, lang)
            total_row[t("jobs.columns.layer_ha", shown, label=label)] = round(rec.area_ha, 2)
            total_row[t("jobs.columns.layer_share", shown, label=label)] = round(rec.share_pct, 2)
        return pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)

    def _landuse_table(self, lang: str, col: dict) -> pd.DataFrame:
        bc = self.landuse.by_class
        return pd.DataFrame({
            col["code"]: bc["code"], col["class_name"]: bc["name"],
            col["area_ha"]: (bc["area_m2"] / 1e4).round(2),
            col["share"]: bc["share_pct"].round(2),
        })

    def _landcover_table(self, lang: str, col: dict) -> pd.DataFrame:
        lc = self.landcover
        return pd.DataFrame({
            col["unit"]: lc["unit"], col["landcover_class"]: lc["code"],
            col["name"]: lc["name"], col["area_ha"]: (lc["area_m2"] / 1e4).round(2),
            col["share"]: lc["share_pct"].round(2),
        })

    def _quotas_table(self, lang: str, col: dict) -> pd.DataFrame:
        q, shown = self.quotas, display_lang(lang)
        return pd.DataFrame({
            col["unit"]: q["unit"],
            col["indicator"]: q["indicator"].map(text_labels("jobs.quota_indicators", shown)),
            col["quota"]: q["quota_mu"].round(2),
            col["measured"]: q["measured_mu"].round(2),
            col["surplus"]: q["surplus_mu"].round(2),
            col["status"]: q["met"].map({True: t("jobs.cells.met", shown), False: t("jobs.cells.shortfall", shown)}),
        })


def _about_features(note: str) -> bool:
    """Whether a read note says features were dropped or repaired (worth repeating for the boundary, units…)."""
    return " dropped — " in note or " repaired: " in note


@dataclass
class _Specs:
    """What an indicator run checked before reading a layer: the catalog, the class maps, the quota table."""

    catalog: dict
    class_map: object = None
    raster_classes: object = None
    quotas: pd.DataFrame | None = None


def _check_specs(ws: Workspace) -> _Specs:
    """Every spec of the run read and checked, and the quota table validated, before the first layer is read."""
    if ws.boundary is None:
        raise InputError("no boundary given: use --boundary PATH or a workspace with 'boundary'")
    catalog = load_catalog()
    unknown = kind_problems(ws.layers, catalog)
    if unknown:
        raise CatalogError("; ".join(unknown))
    specs = _Specs(catalog, class_map=load_class_map() if ws.landuse is not None else None)
    if ws.landcover is not None or ws.landcover_classes is not None:
        specs.raster_classes = load_raster_classes(ws.landcover_classes)
    if ws.quotas is not None:  # a bad quota table fails before any measuring
        if ws.units is None:
            raise InputError("quotas are per unit: give --units and --by as well")
        specs.quotas = read_table(ws.quotas)
        validate_quotas(specs.quotas, str(ws.quotas))
    return specs


def _read_layers(ws: Workspace, catalog, boundary, reader, measure, step, notes: list[str]):
    """The control-line layers (only their fields when ``measure`` takes the areas elsewhere) and zone fields."""
    layers, zone_fields = {}, {}
    for kind, path in ws.layers.items():
        if measure is not None:  # measured elsewhere: the fields are enough here
            layer_crs, _, fields = layer_info(str(path))
            layers[kind] = str(path)
            frame = gpd.GeoDataFrame(columns=[*fields, "geometry"], geometry="geometry", crs=layer_crs)
        else:
            frame, rep = reader(path, geometry="polygon")
            layers[kind] = frame
            notes += [f"{kind}: {n}" for n in rep.notes]
            if frame.crs is not None and not frame.crs.equals(boundary.crs):
                notes.append(f"{kind}: measured in its own CRS {frame.crs.to_string()} (the boundary and units "
                             f"reprojected to it from {boundary.crs.to_string()})")
        zone_fields[kind] = zone_column(frame, catalog[kind].zone_fields) if catalog[kind].zones else None
        step(f"read {kind}")
    return layers, zone_fields


def _outside_warnings(shares: pd.DataFrame) -> list[str]:
    """A share of 0 because the layer is elsewhere is worth a warning."""
    whole = shares[shares["zone"].isna()] if "zone" in shares.columns else shares
    return [f"{row.kind}: warning: the layer lies entirely outside the boundary (share 0) — "
            f"check that it is the right district's layer and CRS"
            for row in whole.itertuples(index=False) if row.area_m2 <= 0 and getattr(row, "outside_m2", 0) > 0]


def _quota_check(ws: Workspace, report: IndicatorReport, specs: _Specs, layers: dict, units) -> pd.DataFrame:
    """The quotas against what was measured: basic farmland from the ledger, farmland from the land use."""
    if report.ledger is None:
        raise InputError("quotas are per unit: give --units and --by as well")
    measured = {}
    if "basic_farmland" in layers:
        measured["basic_farmland"] = report.ledger.rows.query(
            "kind == 'basic_farmland' and zone.isna()").set_index("unit")["area_m2"]
    if report.landuse is not None:
        pieces = report.landuse.pieces
        measured["farmland"] = class_area_by_unit(pieces, specs.class_map.codes("farmland", pieces["code"]), units,
                                                  ws.by)
    return check_quotas(specs.quotas, measured, str(ws.quotas))


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
    specs = _check_specs(ws)
    step = progress or (lambda name: None)
    notes: list[str] = []
    boundary, brep = reader(ws.boundary, geometry="polygon")
    notes += [f"boundary: {n}" for n in brep.notes if _about_features(n)]
    step("read boundary")
    layers, zone_fields = _read_layers(ws, specs.catalog, boundary, reader, measure, step, notes)
    # each layer repaired, measured and dissolved once, for the shares and the ledger alike
    prepared = layers if measure is not None else {k: prepare_layer(g, zone_fields[k]) for k, g in layers.items()}
    step("dissolve layers")
    shares = layer_shares(boundary, prepared, zone_fields, measure=measure)
    notes += _outside_warnings(shares)
    names = {k: {"zh": specs.catalog[k].name_zh, "en": specs.catalog[k].name_en} for k in layers}
    report = IndicatorReport(shares.attrs["boundary_m2"], shares, names, notes=notes)
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
        report.landuse = landuse_indicators(lu, boundary, specs.class_map, code_field=ws.landuse_field,
                                            protected=frame("nature_reserve"), builtup=frame("urban_boundary"))
        step("read landuse")
    if ws.landcover is not None:
        report.landcover, report.landcover_groups = _landcover(ws, boundary, units, frame("urban_boundary"),
                                                               specs.raster_classes)
        notes += report.landcover.attrs.get("notes", [])
        step("read landcover")
    if ws.quotas is not None:
        report.quotas = _quota_check(ws, report, specs, layers, units)
    if recipe is not None:
        report.recipe = recipe
        landuse = report.landuse.indicators if report.landuse else None
        report.scorecard = evaluate(recipe, metrics_from(shares, landuse, report.landcover_groups), lang)
    return report


def _landcover(ws: Workspace, boundary, units, builtup, classes):
    """Class areas from the land-cover raster for the district, each unit, and the built-up area (green coverage)."""
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


def indicator_workspace(workspace, *, per_unit: bool = True, **options) -> Workspace:
    """The workspace of a run: its TOML (if any) with the command-line ``options`` over it (``layers`` a mapping
    of kind to path); ``per_unit=False`` (the scorecard) drops the units, their field and the quotas."""
    ws = district_workspace(workspace, **options)
    return ws if per_unit else replace(ws, units=None, by=None, quotas=None)


def write_indicator_tables(report: IndicatorReport, lang: str, outputs, only_scorecard: bool = False) -> None:
    """The tables to each of ``outputs`` (.xlsx, .md, .csv); a CSV (and ``only_scorecard``) holds the scorecard."""
    tables = report.tables(lang)
    key = scorecard_key(lang)
    for path in outputs:
        chosen = tables
        if path.suffix.lower() == ".csv" or only_scorecard:
            if path.suffix.lower() == ".csv" and key not in tables:
                raise InputError(f"{path}: a CSV holds the scorecard only; give --recipe, or use .xlsx/.md")
            chosen = {key: tables[key]} if key in tables else tables
        write_tables(chosen, path)


def indicators_job(workspace=None, *, recipe=None, outputs=(), lang: str = "zh", per_unit: bool = True,
                   engine: str = "local", workers=None, scheduler=None, cell_km: float = 20.0, progress=None,
                   **inputs) -> IndicatorReport:
    """``redline indicators`` / ``scorecard``: the workspace, the recipe and the outputs checked, every indicator
    measured (with ``engine="dask"``, the control-line areas cell by cell on a Dask cluster), the tables written to
    ``outputs``.

    ``progress(description, done, total)`` (optional) follows the reads and steps of :func:`run_indicators`."""
    ws = indicator_workspace(workspace, per_unit=per_unit, **inputs)
    rec = load_recipe(recipe) if recipe else None
    refuse_overwrite(outputs, [ws.boundary, *ws.layers.values(), ws.units, ws.landuse, ws.quotas, ws.landcover,
                               ws.landcover_classes])
    steps = 2 + len(ws.layers) + (ws.units is not None) + (ws.landuse is not None) + (ws.landcover is not None)
    with measure_for(engine, workers, scheduler, cell_km=cell_km) as measure:
        report = run_indicators(ws, rec, lang, progress=counted(progress, steps), measure=measure)
    write_indicator_tables(report, lang, outputs, only_scorecard=not per_unit)
    return report
