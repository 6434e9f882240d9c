"""The interactive map (一张图): every layer styled from the catalog, projects by verdict, one HTML file.

The map is a folium (Leaflet) map whose JavaScript and CSS are inlined from the
vendored copies in ``redline/maps/static``, so the file works offline with
``basemap="none"`` and references nothing external but basemap tiles. Large
layers are simplified to the map's scale and coordinates kept to ~1 m; the
numbers in popups come from the analysis, never from the drawn shapes. Every
attribute value is escaped before it reaches HTML.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template as FoliumTemplate  # with folium's tojavascript filter
from jinja2 import Template

from ..errors import RedlineError
from ..geometry.crs import working_crs
from ..io import format_number
from ..specs.catalog import LayerKind, load_catalog
from ..specs.theme import GCJ02_HOSTS, Theme, load_theme
from ..text import labels, t
from .tiles import TileSet, render_tiles

__all__ = ["MapResult", "TileTarget", "build_map", "render_html", "simplify_for_map", "map_text", "BASEMAPS"]

BASEMAPS = ("osm", "tianditu_vec", "tianditu_img", "none")
_STATIC = Path(__file__).resolve().parent / "static"
_MAX_POPUP_FIELDS = 8


@dataclass
class MapResult:
    """A built map and what was done to draw it (simplification, warnings; the layers drawn as tiles)."""

    map: folium.Map
    notes: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    tiles: dict[str, TileSet] = field(default_factory=dict)


@dataclass(frozen=True)
class TileTarget:
    """Where large layers' tiles go: ``folder`` (one sub-folder per layer kind) and ``url``, the same folder as
    the page refers to it (relative to the page, e.g. ``map_files``)."""

    folder: Path
    url: str
    progress: object = None  # progress(description, done, total), optional


def simplify_for_map(gdf: gpd.GeoDataFrame, tolerance_m: float, precision_deg: float) -> tuple[gpd.GeoDataFrame, int, int]:
    """Simplify to ``tolerance_m`` (in the local Gauss-Krüger zone) and round to ``precision_deg`` in lon/lat.

    Returns the layer in EPSG:4326 and the vertex counts before and after.
    """
    before = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    geoms = gdf.geometry
    if tolerance_m > 0:
        metric = gdf.to_crs(working_crs(gdf))
        simple = shapely.simplify(metric.geometry.values, tolerance_m, preserve_topology=True)
        geoms = gpd.GeoSeries(simple, index=gdf.index, crs=metric.crs)
    out = gdf.set_geometry(geoms.to_crs(4326))
    if precision_deg > 0:
        out = out.set_geometry(shapely.set_precision(out.geometry.values, precision_deg))
    out = out[~out.geometry.is_empty & out.geometry.notna()]
    return out, before, int(shapely.get_num_coordinates(out.geometry.values).sum())


def _popup_html(title: str, rows: list[tuple[str, object]]) -> str:
    """A small HTML table; every label and value escaped."""
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows
    )
    return f"<b>{html.escape(title)}</b><table class='rl-popup'>{cells}</table>"


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def _feature_popups(gdf: gpd.GeoDataFrame, title: str) -> list[str]:
    cols = [c for c in gdf.columns if c != gdf.geometry.name][:_MAX_POPUP_FIELDS]
    return [_popup_html(title, [(c, row[c]) for c in cols]) for _, row in gdf.iterrows()]


def _geojson(gdf: gpd.GeoDataFrame, popups: list[str], tips: list[str]) -> dict:
    """GeoJSON carrying only the pre-escaped popup and tooltip (no raw attribute reaches the page)."""
    slim = gpd.GeoDataFrame({"_popup": popups, "_tip": [html.escape(t) for t in tips]},
                            geometry=gdf.geometry.values, crs=gdf.crs)
    return slim.__geo_interface__


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (folium's shows miles too)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


class _Title(MacroElement):
    """A title box at the top centre (escaped)."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div style="position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:9999;background:#fff;
             padding:6px 14px;border:1px solid #999;border-radius:4px;font:bold 16px sans-serif">{{ this.text }}</div>
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self.text = html.escape(text)


class _Legend(MacroElement):
    """A fixed legend box (bottom left) with escaped labels."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <style>
          .rl-popup th { white-space: nowrap; text-align: left; vertical-align: top; padding-right: 8px; color: #555; }
          .rl-popup td { vertical-align: top; }
        </style>
        <div class="rl-legend" style="position:fixed;bottom:28px;left:10px;z-index:9999;background:#fff;
             padding:8px 10px;border:1px solid #999;border-radius:4px;font:12px/1.5 sans-serif;max-width:260px">
          <b>{{ this.title }}</b><br>{{ this.body }}
          <div style="color:#666;margin-top:4px;font-size:11px">{{ this.note }}</div>
        </div>
        {% endmacro %}
    """)

    def __init__(self, title: str, entries: list[tuple[str, str, str]], note: str):
        super().__init__()
        self.title = html.escape(title)
        self.note = html.escape(note)
        rows = []
        for label, fill, stroke in entries:
            rows.append(
                f'<span style="display:inline-block;width:14px;height:10px;background:{fill};'
                f'border:2px solid {stroke};margin-right:6px;vertical-align:middle"></span>{html.escape(label)}'
            )
        self.body = "<br>".join(rows)


def _basemap(m: folium.Map, name: str, theme: Theme, key: str | None, lang: str, notes: list[str]) -> None:
    if name == "none":
        return
    if name not in theme.basemaps:
        raise RedlineError(f"unknown basemap {name!r}; use one of {', '.join(theme.basemaps)} or none")
    bm = theme.basemaps[name]
    tiles = bm["tiles"]
    if "{key}" in tiles:
        if not key:
            raise RedlineError(f"basemap {name!r} needs a Tianditu key: --tianditu-key KEY or TIANDITU_KEY")
        tiles = tiles.replace("{key}", key)
    if bm.get("crs", "WGS84").upper() == "GCJ02" or any(h in tiles for h in GCJ02_HOSTS):
        notes.append(f"basemap {name}: GCJ-02 tiles are shifted 300–600 m from CGCS2000 data — do not read "
                     "positions off this basemap")
    label = bm.get(f"name_{lang}", name)
    folium.TileLayer(tiles=tiles, attr=bm.get("attribution", label), name=label, max_zoom=18,
                     subdomains=bm.get("subdomains", "abc"), control=True).add_to(m)
    if "labels" in bm:
        folium.TileLayer(tiles=bm["labels"].replace("{key}", key or ""), attr=bm.get("attribution", ""),
                         name=t("maps.interactive.basemap_labels", lang, label=label), overlay=True,
                         subdomains=bm.get("subdomains", "abc"), max_zoom=18).add_to(m)


def map_text(lang: str) -> dict[str, str]:
    """The interactive map's labels in ``lang``: layer names, popup fields and the verdicts by their code."""
    return {**labels("maps.interactive", lang), **labels("maps.verdict", lang),
            "legend": t("maps.legend", lang), "boundary": t("maps.boundary", lang)}


@dataclass
class _Drawing:
    """A map being drawn: each layer added as a feature group, the legend entries, the notes and the extent."""

    map: folium.Map
    theme: Theme
    notes: list[str] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    bounds: list = field(default_factory=list)
    target: TileTarget | None = None
    tiles: dict[str, TileSet] = field(default_factory=dict)

    def add(self, gdf, name, style, popups, tips, show=True, group=None):
        """Draw ``gdf`` (in EPSG:4326) as a GeoJSON layer with popups and tooltips, in its own feature group
        (listed in the layer control) or in ``group``; the feature group."""
        fg = group or folium.FeatureGroup(name=name, show=show)
        points = bool(len(gdf)) and bool(np.all(shapely.get_type_id(gdf.geometry.values) == 0))
        folium.GeoJson(
            _geojson(gdf, popups, tips),
            style_function=lambda _f, s=style: s,
            highlight_function=lambda _f: {"weight": 3},
            popup=folium.GeoJsonPopup(fields=["_popup"], labels=False, localize=False, max_width=420),
            tooltip=folium.GeoJsonTooltip(fields=["_tip"], labels=False, localize=False),
            marker=folium.CircleMarker(radius=6, fill=True) if points else None,
            name=name,
        ).add_to(fg)
        if group is None:
            fg.add_to(self.map)
            self.names.append(name)
            self.bounds.append(gdf.total_bounds)
        return fg

    def simplified(self, gdf, label):
        """``gdf`` simplified to the theme's scale, in EPSG:4326 (with a note when vertices were dropped)."""
        theme = self.theme
        out, before, after = simplify_for_map(gdf, theme.tolerance_m, theme.precision_deg)
        if after < before:
            self.notes.append(f"{label}: {len(gdf):,} features drawn with {after:,} of {before:,} vertices "
                              f"(simplified to {theme.tolerance_m:g} m, coordinates to {theme.precision_deg:g}°)")
        return out


def _large(gdf: gpd.GeoDataFrame, theme: Theme) -> bool:
    """Too many features or vertices for one page: drawn as tiles."""
    return len(gdf) > theme.tile_above_features or \
        int(shapely.get_num_coordinates(gdf.geometry.values).sum()) > theme.tile_above_vertices


def _add_tiled(d: _Drawing, gdf: gpd.GeoDataFrame, kind_name: str, label: str, style: dict) -> None:
    """``gdf`` rendered as raster tiles into the target's folder, added as an overlay tile layer."""
    target = d.target
    progress = None
    if target.progress is not None:
        progress = lambda done, total: target.progress(f"tiles: {label}", done, total)  # noqa: E731
    ts = render_tiles(np.asarray(gdf.geometry.values), gdf.crs or "EPSG:4326", target.folder / kind_name,
                      fill=style["fillColor"], stroke=style["color"], fill_opacity=style["fillOpacity"],
                      max_tiles=d.theme.max_tiles, progress=progress)
    d.tiles[kind_name] = ts
    if not ts.count:  # nothing to draw (every geometry empty)
        return
    west, south, east, north = ts.bounds
    _IndexedTiles(ts.written, tiles=f"{target.url}/{quote(kind_name)}/{{z}}/{{x}}/{{y}}.png", attr="redline",
                  name=label, overlay=True, control=True, min_native_zoom=ts.zmin, max_native_zoom=ts.zmax,
                  max_zoom=18, bounds=[[south, west], [north, east]], z_index=5).add_to(d.map)
    d.names.append(label)
    d.bounds.append(np.array([west, south, east, north]))
    d.notes.append(f"{label}: {len(gdf):,} features drawn as {ts.count:,} image tiles (zoom {ts.zmin}–{ts.zmax}, "
                   f"{ts.bytes / 1e6:.1f} MB in {target.url}/); their attributes are in the layer's file, "
                   "not in the page")


class _IndexedTiles(folium.TileLayer):
    """A tile layer that asks only for the tiles written (``z/x/y`` keys), an empty image elsewhere: no request
    for a missing file, so no error in the browser's console, and none of a file:// page's failed loads."""

    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.tileLayer({{ this.tiles|tojson }}, {{ this.options|tojavascript }});
            (function (layer, have, empty) {
                var url = layer.getTileUrl;
                layer.getTileUrl = function (c) {
                    return have.has(c.z + "/" + c.x + "/" + c.y) ? url.call(this, c) : empty;
                };
            })({{ this.get_name() }}, new Set({{ this.written|tojson }}), {{ this.empty|tojson }});
        {% endmacro %}
    """)

    def __init__(self, written, **kwargs):
        super().__init__(**kwargs)
        self.written, self.empty = list(written), _empty_png()


def _empty_png() -> str:
    """A 1 × 1 transparent PNG as a data URI: what Leaflet shows where no tile was written (an empty area)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _add_layers(d: _Drawing, layers: Mapping[str, gpd.GeoDataFrame], catalog, lang: str) -> None:
    """The control lines, each styled from its catalog entry, tooltips naming the zone; large layers as tiles
    when the drawing has a tile target."""
    for kind_name, gdf in layers.items():
        kind = catalog[kind_name]
        label = kind.label(lang)
        st = kind.style
        style = {"fillColor": st.get("fill", "#888888"), "color": st.get("stroke", "#444444"),
                 "weight": 1, "fillOpacity": st.get("fill_opacity", 0.4)}
        if d.target is not None and _large(gdf, d.theme):
            _add_tiled(d, gdf, kind_name, label, style)
            d.legend.append((label, style["fillColor"], style["color"]))
            continue
        shown = d.simplified(gdf, label)
        zone_col = next((c for c in kind.zone_fields if c in gdf.columns), None)
        tips = [f"{label}" + (f" · {z}" if zone_col and isinstance(z, str) else "")
                for z in (shown[zone_col] if zone_col else [None] * len(shown))]
        d.add(shown, label, style, _feature_popups(shown, label), tips)
        d.legend.append((label, style["fillColor"], style["color"]))


def _add_outlines(d: _Drawing, units, units_by: str | None, boundary, text: dict) -> None:
    """The units (dashed, tooltips their ids) and the boundary, as outlines."""
    theme = d.theme
    if units is not None:
        shown = d.simplified(units, text["units"])
        tips = [str(v) for v in shown[units_by]] if units_by in shown.columns else [text["units"]] * len(shown)
        d.add(shown, text["units"], {"fillOpacity": 0, "color": theme.units.get("stroke", "#757575"), "weight": 1,
                                     "dashArray": "4 4"}, _feature_popups(shown, text["units"]), tips)
    if boundary is not None:
        shown = d.simplified(boundary, text["boundary"])
        d.add(shown, text["boundary"], {"fillOpacity": 0, "color": theme.boundary.get("stroke", "#212121"),
                                        "weight": 2.5}, _feature_popups(shown, text["boundary"]),
              [text["boundary"]] * len(shown))
        d.legend.append((text["boundary"], "#ffffff", theme.boundary.get("stroke", "#212121")))


def _add_controls(m: folium.Map) -> None:
    """The layer control, fullscreen and the measuring tool (metres and hectares)."""
    folium.LayerControl(collapsed=False).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                                  secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                                  secondary_area_unit="hectares").add_to(m)


def build_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    boundary: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    units_by: str | None = None,
    screening=None,
    catalog: Mapping[str, LayerKind] | None = None,
    theme: Theme | None = None,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    title: str | None = None,
    tiles: TileTarget | None = None,
) -> MapResult:
    """Build the one map: control lines styled from the catalog, projects by verdict, encroachments highlighted.

    Parameters
    ----------
    layers : mapping kind -> GeoDataFrame
        Control-line layers of catalog kinds (any CRS).
    boundary, units : GeoDataFrame, optional
        Drawn as outlines; ``units_by`` names the units' label field.
    screening : ScreeningResult, optional
        Projects (coloured by verdict, popups with the findings) and encroachment pieces.
    basemap : {"osm", "tianditu_vec", "tianditu_img", "none"}
        Tianditu needs ``tianditu_key``; ``none`` for offline use.
    tiles : TileTarget, optional
        Where to write the tiles of layers too large for one page (the theme's ``[tiles]`` thresholds); without
        it every layer is drawn as vectors.

    Examples
    --------
    >>> result = build_map({"eco_redline": red}, boundary=district, basemap="none")  # doctest: +SKIP
    >>> html = render_html(result.map)  # doctest: +SKIP
    """
    catalog = catalog or load_catalog()
    text = map_text(lang)
    d = _Drawing(folium.Map(tiles=None, control_scale=False, prefer_canvas=True), theme or load_theme(),
                 target=tiles)
    _MetricScale().add_to(d.map)
    _basemap(d.map, basemap, d.theme, tianditu_key, lang, d.notes)
    _add_layers(d, layers, catalog, lang)
    _add_outlines(d, units, units_by, boundary, text)
    if screening is not None:
        _add_screening(d, screening, text)
    _add_controls(d.map)
    d.map.get_root().add_child(_Legend(text["legend"], d.legend, text["note"]))
    if title:
        d.map.get_root().add_child(_Title(title))
    if d.bounds:
        b = np.array(d.bounds)
        d.map.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])
    return MapResult(d.map, d.notes, d.names, d.tiles)


def _add_screening(d: _Drawing, screening, text: dict) -> None:
    """The projects by verdict (footprints and a marker each) and the encroachment pieces."""
    theme, legend = d.theme, d.legend
    projects = screening.projects.to_crs(4326)
    enc = screening.encroachments.to_crs(4326)
    for verdict in ("clear", "restricted", "conditional", "prohibited"):
        sel = projects[projects["verdict"] == verdict]
        if sel.empty:
            continue
        colour = theme.verdicts[verdict]
        popups = [
            _popup_html(f"{r.project_id} {getattr(r, 'name', '') or ''}".strip(), [
                (text["verdict"], text[r.verdict]),
                (text["category"], r.category_label or r.category),
                (text["area"], r.footprint_ha),
                (text["findings"], r.findings or "—"),
            ])
            for r in sel.itertuples(index=False)
        ]
        tips = [f"{r.project_id} · {text[r.verdict]}" for r in sel.itertuples(index=False)]
        fg = d.add(sel, f"{text['projects']} · {text[verdict]}",
                   {"fillColor": colour, "color": theme.verdicts.get("outline", "#000000"), "weight": 2,
                    "fillOpacity": 0.75}, popups, tips)
        # a marker too: footprints of a few hectares vanish at district scale
        points = sel.set_geometry(sel.geometry.representative_point())
        d.add(points, "", {"fillColor": colour, "color": theme.verdicts.get("outline", "#000000"), "weight": 1.5,
                           "fillOpacity": 0.9}, popups, tips, group=fg)
        legend.append((f"{text['projects']} · {text[verdict]}", colour, theme.verdicts.get("outline", "#000000")))
    if not enc.empty:
        _add_encroachments(d, enc, text)


def _add_encroachments(d: _Drawing, enc: gpd.GeoDataFrame, text: dict) -> None:
    """The encroachment pieces (in EPSG:4326), popups with their zone, severity and area."""
    theme = d.theme
    popups = [
        _popup_html(f"{r.project_id} · {r.kind_label}", [
            (text["zone"], r.zone or "—"),
            (text["verdict"], text.get(r.severity, r.severity)),
            (text["area"], r.area_ha),
        ])
        for r in enc.itertuples(index=False)
    ]
    tips = [f"{r.project_id} · {r.kind_label} {r.area_ha:,.2f}" for r in enc.itertuples(index=False)]
    d.add(enc, text["encroachments"], {"fillColor": theme.encroachment.get("fill", "#000000"),
                                       "color": theme.encroachment.get("stroke", "#d50000"),
                                       "weight": 2, "fillOpacity": 0.6}, popups, tips)
    d.legend.append((text["encroachments"], theme.encroachment.get("fill", "#000000"),
                     theme.encroachment.get("stroke", "#d50000")))


# ---------------------------------------------------------------------------
# one self-contained HTML file

_ASSETS = {  # URL fragment in folium's template -> vendored file (None: not needed, dropped)
    "leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
    "Control.FullScreen.min.js": "fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "fullscreen/Control.FullScreen.css",
    "leaflet-measure.min.js": "measure/leaflet-measure.min.js",
    "leaflet-measure.min.css": "measure/leaflet-measure.css",
    "jquery": None,
    "bootstrap": None,
    "awesome-markers": None,
    "fontawesome": None,
    "leaflet.awesome.rotate": None,
}
_TAG = re.compile(r'<script src="(?P<js>[^"]+)"></script>|<link rel="stylesheet" href="(?P<css>[^"]+)"\s*/?>')


def _inline_css(path: Path) -> str:
    css = path.read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        ref = match.group(1).strip("'\"")
        if ref.startswith(("data:", "#")):
            return match.group(0)
        img = path.parent / ref
        mime = "image/svg+xml" if img.suffix == ".svg" else "image/png"
        return f"url(data:{mime};base64,{base64.b64encode(img.read_bytes()).decode()})"

    return re.sub(r"url\(([^)]+)\)", data_uri, css)


def render_html(m: folium.Map) -> str:
    """The map as one HTML document with every script and style sheet inlined.

    Raises :class:`RedlineError` if an external script or style sheet is left (a folium
    change); basemap tile URLs are the only external references, and only with a basemap.
    """
    page = m.get_root().render()

    def replace(match: re.Match) -> str:
        url = match.group("js") or match.group("css")
        for fragment, local in _ASSETS.items():
            if fragment in url:
                if local is None:
                    return ""
                if match.group("js"):
                    return f"<script>{(_STATIC / local).read_text(encoding='utf-8')}</script>"
                return f"<style>{_inline_css(_STATIC / local)}</style>"
        raise RedlineError(f"map template references an unknown external asset {url}")

    page = _TAG.sub(replace, page)
    left = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="(https?://[^"]+)"|<link[^>]*\shref="(https?://[^"]+)"', page)
    left = [a or b for a, b in left]
    if left:
        raise RedlineError(f"map still references external files: {', '.join(left)}")
    return page
