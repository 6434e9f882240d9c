"""What the screening checks before its first overlay: the request (rule set, kinds, rings), the layers and the
projects, each refused with one line naming what is wrong.

:func:`check_request` and :func:`check_layer` are public so that an engine (:mod:`redline.engines`) can run the
same checks on every input before it starts any work; :func:`project_footprints` gives the footprints the
screening measures, in the metric CRS it works in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from ...errors import CatalogError, CRSError
from ...geometry.clean import describe_repairs, repair, require_usable
from ...geometry.footprints import CATEGORY_FIELDS, ID_FIELDS, find_field, footprints, working_crs
from ...specs.catalog import LayerKind, kind_problems, load_catalog
from ...specs.rules import RuleSet, load_rules

__all__ = ["ScreenedProjects", "check_layer", "check_request", "project_footprints"]


def check_request(layers: Iterable[str], rules=None, catalog: Mapping[str, LayerKind] | None = None,
                  buffers: Iterable[float] | None = None) -> tuple[RuleSet, Mapping[str, LayerKind], tuple[float, ...]]:
    """The rule set (loaded when a path or None), the catalog and the ring distances of a screening of ``layers``
    (kind names); :class:`~redline.errors.CatalogError` for an unknown kind or none at all, ``ValueError`` for
    rings that are not increasing positive distances."""
    catalog = load_catalog() if catalog is None else catalog
    if not isinstance(rules, RuleSet):
        rules = load_rules(rules, catalog)
    kinds = list(layers)
    unknown = kind_problems(kinds, catalog)
    if unknown:
        raise CatalogError("; ".join(unknown))
    if not kinds:
        raise CatalogError("no layers to screen against; give at least one (e.g. eco_redline=PATH)")
    rings_m = tuple(float(b) for b in (rules.buffers_m if buffers is None else buffers))
    if any(b <= 0 for b in rings_m) or list(rings_m) != sorted(set(rings_m)):
        raise ValueError(f"buffers must be increasing positive distances in metres, got {list(rings_m)}")
    return rules, catalog, rings_m


def check_layer(gdf: gpd.GeoDataFrame, kind: str, notes: list[str]) -> gpd.GeoDataFrame:
    """A layer given as a GeoDataFrame, fit to screen against: it must have a CRS; features without geometry are
    dropped and invalid ones repaired (:func:`redline.geometry.area.repair`), each said in ``notes``.
    A layer read by :func:`redline.read_layer` passes unchanged."""
    if gdf.crs is None:
        raise CRSError(f"layer {kind}: no CRS; set one on the GeoDataFrame")
    geoms = gdf.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        notes.append(f"{kind}: {int(bad.sum())} features without geometry ignored")
        gdf = gdf.loc[~bad]
    fixed = repair(np.asarray(gdf.geometry.values, dtype=object), crs=gdf.crs, where=f"layer {kind}", ids=gdf.index)
    if fixed.repaired.any():
        gdf = gdf.set_geometry(gpd.GeoSeries(fixed.geoms, index=gdf.index, crs=gdf.crs))
        notes.append(f"{kind}: {describe_repairs(fixed.fixes[fixed.repaired])}")
    return gdf


@dataclass
class ScreenedProjects:
    """The projects as the screening sees them: ids, categories and footprints in the metric ``crs``."""

    source: gpd.GeoDataFrame
    ids: list[str]
    categories: list[str | None]
    crs: str
    footprints: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def geoms(self) -> np.ndarray:
        """The footprint polygons, in :attr:`crs`."""
        return self.footprints.geometry.values

    @property
    def m2(self) -> np.ndarray:
        """The ellipsoidal area of each footprint (m²)."""
        return self.footprints["footprint_m2"].to_numpy()

    @property
    def linear(self) -> np.ndarray:
        """Whether each project is a linear work (a line given a width)."""
        return self.footprints["linear"].to_numpy()

    def __len__(self) -> int:
        return len(self.ids)


def project_footprints(projects: gpd.GeoDataFrame, rules: RuleSet, *, id_field: str | None = None,
                       category_field: str | None = None, line_width: float | None = None,
                       point_radius: float | None = None, repaired=None, crs=None) -> ScreenedProjects:
    """Ids, categories (normalised by the rule set) and footprints of the projects, with notes on what was
    missing, duplicated, unknown or repaired. Raises ``ValueError`` for no projects and
    :class:`~redline.errors.CRSError` / :class:`~redline.errors.GeometryError` for unusable ones."""
    if not len(projects):
        raise ValueError("no projects to screen")
    notes: list[str] = []
    ids = _project_ids(projects, id_field, notes)
    cats = _project_categories(projects, category_field, rules, notes)
    if projects.crs is None:
        raise CRSError("the projects have no CRS: set one on the layer")
    # before the working CRS is chosen from their extent (a 1e300 would choose it) and GEOS meets them
    require_usable(projects.geometry.values, projects.crs, where="projects", ids=ids)
    crs = working_crs(projects) if crs is None else str(crs)
    repaired = dict(repaired) if isinstance(repaired, Mapping) else dict.fromkeys(repaired or (), "")
    fp = footprints(projects, crs=crs, ids=ids, line_width=line_width, point_radius=point_radius, repaired=repaired)
    done = fp["repaired"].to_numpy()
    for i, fix in zip(np.flatnonzero(done), fp["repair"].to_numpy()[done]):
        notes.append(f"projects: {ids[i]}: invalid footprint repaired ({fix or 'when read'})")
    return ScreenedProjects(projects, ids, cats, crs, fp, notes)


def _project_ids(projects: gpd.GeoDataFrame, id_field: str | None, notes: list[str]) -> list[str]:
    """The project ids (the feature ids when there is no id field), with a note on duplicates."""
    idf = find_field(projects.columns, id_field, ID_FIELDS, "id")
    if idf is None:
        ids = [str(i) for i in projects.index]
        notes.append(f"projects: no id field ({', '.join(ID_FIELDS)}); the feature ids are used")
    else:
        ids = [str(v) for v in projects[idf]]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        notes.append(f"projects: duplicate ids {', '.join(dup)}")
    return ids


def _project_categories(projects: gpd.GeoDataFrame, category_field: str | None, rules: RuleSet,
                        notes: list[str]) -> list[str | None]:
    """The category code of each project (None without a category field), with a note on unknown ones."""
    cf = find_field(projects.columns, category_field, CATEGORY_FIELDS, "category")
    if cf is None:
        notes.append(f"projects: no category field ({', '.join(CATEGORY_FIELDS)}); no category is permitted anywhere")
        cats = [None] * len(projects)
    else:
        cats = [rules.normalise_category(v) for v in projects[cf]]
    strange = sorted({c for c in cats if c is not None and c not in rules.categories})
    if strange:
        notes.append(f"projects: categories not in the rule set ({', '.join(strange)}): treated as not permitted")
    return cats
