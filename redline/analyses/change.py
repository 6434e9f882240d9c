"""Version-to-version change of a layer (面积不减少、性质不改变): area added, removed, unchanged; features matched by id.

Both versions are dissolved (overlaps count once), so ``added = area(new − old)``,
``removed = area(old − new)``, ``unchanged = area(old ∩ new)`` and
``added − removed = area(new) − area(old)``. With a key field, features are
matched by id and classified as new, removed, reshaped (their geometries differ
by more than ``tolerance`` m²) or with changed attributes; a change of a zone or
type field is a change of nature (性质改变). Areas are ellipsoidal (CGCS2000).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, FieldError
from ..geometry.area import dissolve, ellipsoidal_area
from ..geometry.clean import polygonal, repair
from ..geometry.crs import describe_crs
from ..specs.catalog import load_catalog
from ..io import write_layers
from ..text import LANGS, labels, t
from .conflicts import split_by_units
from .indicators import UNASSIGNED

__all__ = ["ChangeResult", "change", "TOLERANCE_M2", "STATUSES"]

#: Area differences (m²) below this are numerical noise: not a reshape, not a loss.
TOLERANCE_M2 = 1.0
#: Feature statuses, in display order.
STATUSES = ("new", "removed", "reshaped", "attributes", "unchanged")
#: The name of each status, ``{lang: {status: label}}`` (from the catalog, ``change.status``).
STATUS_LABELS = {lang: labels("change.status", lang) for lang in LANGS}
_AREA_KEYS = ("old_m2", "new_m2", "added_m2", "removed_m2", "unchanged_m2", "net_m2")


@dataclass
class ChangeResult:
    """Area change between two versions: totals, per unit, added/removed pieces, matched features, notes."""

    totals: dict
    pieces: gpd.GeoDataFrame
    by_unit: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    tolerance: float = TOLERANCE_M2

    def decreased(self, strict: bool = False) -> bool:
        """True when the total area shrank by more than ``tolerance`` (with ``strict``: or any unit's did)."""
        if self.totals["net_m2"] < -self.tolerance:
            return True
        if strict and self.by_unit is not None:
            return bool((self.by_unit["net_m2"] < -self.tolerance).any())
        return False

    @property
    def nature_changed(self) -> pd.DataFrame:
        """The matched features whose zone or type changed (性质改变)."""
        if self.features is None:
            return pd.DataFrame()
        return self.features[self.features["nature_changed"]]

    def to_json(self) -> dict:
        """``totals``, ``units`` (or None), ``features`` (or None), ``counts`` per status, ``decreased``, notes."""
        feats = None
        counts = None
        if self.features is not None:
            feats = [{k: _plain(v) for k, v in r.items()} for r in self.features.to_dict(orient="records")]
            counts = {s: int((self.features["status"] == s).sum()) for s in STATUSES}
            counts["nature_changed"] = int(self.features["nature_changed"].sum())
        return {
            "totals": {k: _plain(v) for k, v in self.totals.items()},
            "units": None if self.by_unit is None else [
                {k: _plain(v) for k, v in r.items()} for r in self.by_unit.to_dict(orient="records")],
            "features": feats,
            "counts": counts,
            "decreased": self.decreased(),
            "decreased_units": None if self.by_unit is None else
            self.by_unit.loc[self.by_unit["net_m2"] < -self.tolerance, "unit"].tolist(),
            "notes": list(self.notes),
        }

    def tables(self, lang: str = "zh") -> dict[str, pd.DataFrame]:
        """Display tables (areas in 公顷/ha): totals, per unit, matched features that changed."""
        names, col = labels("change.area", lang), labels("change.column", lang)
        unit = col["ha_suffix"]
        total = pd.DataFrame([{names[k] + unit: self.totals[k] / 1e4 for k in _AREA_KEYS}])
        out = {t("change.table.area_change", lang): total}
        if self.by_unit is not None:
            u = self.by_unit
            df = pd.DataFrame({col["unit"]: u["unit"]})
            for k in _AREA_KEYS:
                df[names[k] + unit] = u[k] / 1e4
            df[col["decreased"]] = np.where(u["net_m2"] < -self.tolerance, t("change.yes", lang), "")
            out[t("change.table.by_unit", lang)] = df
        if self.features is not None:
            f = self.features[self.features["status"] != "unchanged"]
            out[t("change.table.features", lang)] = pd.DataFrame({
                col["id"]: f["key"],
                col["change"]: f["status"].map(STATUS_LABELS[lang]),
                col["fields_changed"]: f["fields_changed"],
                col["nature_changed"]: np.where(f["nature_changed"], t("change.yes", lang), ""),
                col["added_ha"]: f["added_m2"] / 1e4,
                col["removed_ha"]: f["removed_m2"] / 1e4,
            })
        return out

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the layers ``added`` and ``removed`` (pieces, per unit when units were given) to one GeoPackage."""
        layers = {name: self.pieces[self.pieces["change"] == name] for name in ("added", "removed")}
        return write_layers(layers, path, "change output")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _geoms(gdf: gpd.GeoDataFrame, crs, which: str = "layer") -> np.ndarray:
    return repair(gdf.to_crs(crs).geometry.values, crs=crs, where=which, ids=gdf.index).geoms


def _by_key(gdf: gpd.GeoDataFrame, key: str, crs, which: str, notes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per key (attributes of the first feature) and the union of the key's geometries."""
    if key not in gdf.columns:
        cols = ", ".join(map(str, gdf.columns.drop(gdf.geometry.name)))
        raise FieldError(f"{which} version: no key field {key!r}; fields: {cols}")
    keys = gdf[key].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    if (keys == "").any():
        notes.append(f"{which} version: {int((keys == '').sum())} features without {key} are compared by area only")
    geoms = _geoms(gdf, crs, f"{which} version")
    ok = keys != ""
    keys, geoms, attrs = keys[ok], geoms[ok], pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).loc[ok]
    uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        notes.append(f"{which} version: {int((counts > 1).sum())} ids ({', '.join(uniq[counts > 1][:5])}"
                     f"{'…' if (counts > 1).sum() > 5 else ''}) have several features: their parts are merged")
    order = np.argsort(keys, kind="stable")
    merged = geoms[order][np.searchsorted(keys[order], uniq)].copy()
    for j in np.flatnonzero(counts > 1):
        merged[j] = dissolve(geoms[keys == uniq[j]])
    table = attrs.iloc[first].reset_index(drop=True)
    table.index = uniq
    return table, merged


def _text(values: pd.Series) -> np.ndarray:
    return values.astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _match(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, key: str, crs, nature_fields: Sequence[str],
           tolerance: float, notes: list[str]) -> pd.DataFrame:
    old_t, old_g = _by_key(old, key, crs, "old", notes)
    new_t, new_g = _by_key(new, key, crs, "new", notes)
    keys = np.array(sorted(set(old_t.index) | set(new_t.index)), dtype=object)
    in_old, in_new = np.isin(keys, old_t.index), np.isin(keys, new_t.index)
    empty = shapely.Polygon()
    go = np.full(len(keys), empty, dtype=object)
    gn = np.full(len(keys), empty, dtype=object)
    go[in_old] = old_g[np.searchsorted(old_t.index.to_numpy(dtype=object), keys[in_old])]
    gn[in_new] = new_g[np.searchsorted(new_t.index.to_numpy(dtype=object), keys[in_new])]
    added = polygonal(shapely.difference(gn, go))
    removed = polygonal(shapely.difference(go, gn))
    old_m2, new_m2, added_m2, removed_m2 = np.split(ellipsoidal_area(np.concatenate([go, gn, added, removed]), crs=crs), 4)
    common = [c for c in old_t.columns if c in new_t.columns and c != key]
    both = keys[in_old & in_new]
    changed: dict[str, list[str]] = {k: [] for k in both}
    if len(both):
        o, n = old_t.loc[both, common], new_t.loc[both, common]
        for col in common:
            diff = _text(o[col]) != _text(n[col])
            for k in both[diff]:
                changed[k].append(col)
    nature = {c.lower() for c in nature_fields}
    reshaped = (added_m2 + removed_m2) > tolerance
    rows = []
    for i, k in enumerate(keys):
        fields = changed.get(k, [])
        if not in_old[i]:
            status = "new"
        elif not in_new[i]:
            status = "removed"
        elif reshaped[i]:
            status = "reshaped"
        elif fields:
            status = "attributes"
        else:
            status = "unchanged"
        rows.append({"key": k, "status": status, "reshaped": bool(in_old[i] and in_new[i] and reshaped[i]),
                     "fields_changed": "、".join(fields),
                     "nature_changed": any(f.lower() in nature for f in fields),
                     "old_value": "; ".join(f"{f}={old_t.at[k, f]}" for f in fields),
                     "new_value": "; ".join(f"{f}={new_t.at[k, f]}" for f in fields),
                     "old_m2": float(old_m2[i]), "new_m2": float(new_m2[i]),
                     "added_m2": float(added_m2[i]), "removed_m2": float(removed_m2[i])})
    order = {s: j for j, s in enumerate(STATUSES)}
    df = pd.DataFrame(rows)
    return df.assign(_o=df["status"].map(order)).sort_values(["_o", "key"], kind="stable").drop(columns="_o") \
        .reset_index(drop=True)


def _nature_fields(given: Sequence[str] | None) -> tuple[str, ...]:
    """The fields whose change is a change of nature: those ``given``, else every catalog kind's zone fields."""
    if given is not None:
        return tuple(given)
    fields: list[str] = []
    for kind in load_catalog().values():
        fields.extend(f for f in kind.zone_fields if f not in fields)
    return tuple(fields)


def change(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    key: str | None = None,
    units: gpd.GeoDataFrame | None = None,
    by: str | None = None,
    nature_fields: Sequence[str] | None = None,
    tolerance: float = TOLERANCE_M2,
) -> ChangeResult:
    """Area added, removed and unchanged between two versions of a layer, in total and per unit.

    Parameters
    ----------
    old, new : GeoDataFrame
        The two versions, in any CRS (``new`` is reprojected to ``old``'s, with a note).
    key : str, optional
        Feature id field present in both versions: features are matched and classified.
    units, by : GeoDataFrame and field, optional
        Per-unit rows; the part of the layer outside every unit is the row ``(未归属单位)``.
    nature_fields : sequence of str, optional
        Fields whose change is a change of nature (性质改变); default: the zone fields of every
        catalog kind (``type``, ``zone``, ``类型``, ``功能分区`` …).
    tolerance : float
        m²: a matched feature whose geometry differs by less is not reshaped; a net loss smaller
        than this is not a decrease.

    Returns
    -------
    ChangeResult
        ``totals`` (``old_m2, new_m2, added_m2, removed_m2, unchanged_m2, net_m2``), ``by_unit``,
        ``pieces`` (GeoDataFrame ``change`` = added/removed, ``unit``, ``area_m2``), ``features``
        (with ``key``: ``key, status, reshaped, fields_changed, nature_changed, old_value, new_value,
        old_m2, new_m2, added_m2, removed_m2``) and ``notes``.

    Examples
    --------
    >>> from shapely import box
    >>> a = gpd.GeoDataFrame({"id": [1]}, geometry=[box(108.0, 29.0, 108.01, 29.01)], crs=4490)
    >>> b = gpd.GeoDataFrame({"id": [1]}, geometry=[box(108.0, 29.0, 108.01, 29.005)], crs=4490)
    >>> r = change(a, b, key="id")
    >>> r.decreased(), r.features["status"].tolist()
    (True, ['reshaped'])
    """
    if old.crs is None or new.crs is None:
        raise CRSError(f"the {'old' if old.crs is None else 'new'} version has no CRS")
    if units is not None and by is None:
        raise FieldError("units given without the unit id field (by=)")
    notes: list[str] = []
    crs = old.crs
    if not new.crs.equals(crs):
        notes.append(f"new version reprojected from {describe_crs(new.crs)} to {describe_crs(crs)}")
    geoms, totals = _overlay(old, new, crs)
    by_unit = _unit_change(geoms, crs, units, by) if units is not None else None
    pieces = _change_pieces(geoms[2], geoms[3], crs, units, by, tolerance, notes)
    features = None if key is None else _match(old, new, key, crs, _nature_fields(nature_fields), tolerance, notes)
    return ChangeResult(totals=totals, pieces=pieces, by_unit=by_unit, features=features, notes=notes,
                        tolerance=tolerance)


def _overlay(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, crs) -> tuple[np.ndarray, dict]:
    """Both versions dissolved in ``crs``: the old, new, added, removed and unchanged area as geometries (in that
    order, as :data:`_AREA_KEYS`), and their m² with the net change."""
    o, n = dissolve(_geoms(old, crs, "old version")), dissolve(_geoms(new, crs, "new version"))
    added = polygonal([shapely.difference(n, o)])[0]
    removed = polygonal([shapely.difference(o, n)])[0]
    same = polygonal([shapely.intersection(o, n)])[0]
    old_m2, new_m2, added_m2, removed_m2, same_m2 = ellipsoidal_area([o, n, added, removed, same], crs=crs)
    totals = {"old_m2": float(old_m2), "new_m2": float(new_m2), "added_m2": float(added_m2),
              "removed_m2": float(removed_m2), "unchanged_m2": float(same_m2), "net_m2": float(new_m2 - old_m2)}
    return np.array([o, n, added, removed, same], dtype=object), totals


def _unit_change(geoms: np.ndarray, crs, units: gpd.GeoDataFrame, by: str) -> pd.DataFrame:
    """Per unit, the m² of the old, new, added, removed and unchanged area (``geoms``, in that order) and the net
    change; the part outside every unit is the row ``(未归属单位)``."""
    gsrc, gunit, gparts = split_by_units(geoms, crs, units, by)
    m2 = ellipsoidal_area(gparts, crs=crs)
    table = pd.DataFrame({"unit": gunit, "what": np.array(_AREA_KEYS[:5], dtype=object)[gsrc], "m2": m2})
    wide = table.pivot_table(index="unit", columns="what", values="m2", aggfunc="sum", fill_value=0.0)
    ids = list(units[by].astype(str)) + ([UNASSIGNED] if UNASSIGNED in wide.index else [])
    wide = wide.reindex(index=list(dict.fromkeys(ids)), columns=list(_AREA_KEYS[:5]), fill_value=0.0).fillna(0.0)
    wide["net_m2"] = wide["new_m2"] - wide["old_m2"]
    by_unit = wide.rename_axis("unit").reset_index()
    by_unit.columns.name = None
    return by_unit


def _change_pieces(added, removed, crs, units: gpd.GeoDataFrame | None, by: str | None, tolerance: float,
                   notes: list[str]) -> gpd.GeoDataFrame:
    """The added and removed area as pieces (``change, unit, area_m2, area_ha``; ``unit`` only with units, the
    pieces then clipped to them); pieces below ``tolerance`` m² are left out as noise, with a note."""
    kinds = np.array(["added", "removed"], dtype=object)
    parts, idx = shapely.get_parts([added, removed], return_index=True)
    parts, change_of = np.asarray(parts, dtype=object), kinds[idx]
    unit_col = np.full(len(parts), "", dtype=object)
    if units is not None:
        src, unit_col, parts = split_by_units(parts, crs, units, by)
        change_of = change_of[src]
    m2 = ellipsoidal_area(parts, crs=crs)
    pieces = gpd.GeoDataFrame({"change": change_of, "unit": unit_col, "area_m2": m2, "area_ha": m2 / 1e4},
                              geometry=gpd.GeoSeries(np.asarray(parts, dtype=object), crs=crs).values, crs=crs)
    noise = m2 < tolerance
    if (noise & (m2 > 0)).any():
        notes.append(f"{int((noise & (m2 > 0)).sum())} added/removed pieces below {tolerance:g} m² "
                     f"({float(m2[noise].sum()):.2f} m² in all) left out of the pieces as noise")
    pieces = pieces[~noise].reset_index(drop=True)
    return pieces if units is not None else pieces.drop(columns="unit")
