"""Static maps (PNG, matplotlib): the district overview and one map per flagged project.

Drawn in the local CGCS2000 Gauss-Krüger zone (metres), so the scale bar is
exact; with legend, scale bar and north arrow, and Chinese labels in a CJK font
found on the system (Debian: ``fonts-noto-cjk``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..catalog import LayerKind, load_catalog  # noqa: E402
from ..crs import working_crs  # noqa: E402
from .theme import Theme, load_theme  # noqa: E402

__all__ = ["cjk_font", "overview_png", "project_png"]

_VERDICT_ZH = {"prohibited": "禁止", "conditional": "有条件准入", "restricted": "限制", "clear": "无冲突"}


_CJK_FILES = ("notosanscjk", "notoserifcjk", "wqy", "simhei", "msyh", "pingfang", "sourcehansans", "droidsansfallback")


@lru_cache(maxsize=4)
def cjk_font(candidates: tuple[str, ...]) -> str | None:
    """The first installed font family of ``candidates`` (None when there is none).

    matplotlib's font cache may predate the fonts (installed after matplotlib first
    ran): CJK font files on the system are then registered on the spot.
    """
    def pick():
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in candidates if name in installed), None)

    found = pick()
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(key in path.lower().replace("-", "").replace("_", "") for key in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font file FreeType can't read
                    continue
        found = pick()
    return found


def _setup(theme: Theme) -> str | None:
    font = cjk_font(theme.cjk_fonts)
    if font:
        plt.rcParams["font.family"] = [font, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return font


def _scale_bar(ax, lang: str) -> None:
    """A black-and-white bar of a round length (~1/5 of the map width) in the lower right."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / 5
    nice = max(v for v in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000) if v <= target
               ) if target >= 10 else 10
    bx, by, h = x1 - (x1 - x0) * 0.05 - nice, y0 + (y1 - y0) * 0.05, (y1 - y0) * 0.008
    ax.add_patch(plt.Rectangle((bx - nice * 0.1, by - h * 1.5), nice * 1.2, h * 7, facecolor="white", alpha=0.8,
                               edgecolor="none", zorder=19))
    for i in range(2):
        ax.add_patch(plt.Rectangle((bx + i * nice / 2, by), nice / 2, h, facecolor="black" if i == 0 else "white",
                                   edgecolor="black", lw=0.8, zorder=20))
    label = (f"{nice / 1000:g} 公里" if lang == "zh" else f"{nice / 1000:g} km") if nice >= 1000 else \
        (f"{nice} 米" if lang == "zh" else f"{nice} m")
    ax.text(bx + nice / 2, by + h * 2, label, ha="center", va="bottom", fontsize=8, zorder=20)


def _north_arrow(ax, lang: str) -> None:
    ax.annotate("北" if lang == "zh" else "N", xy=(0.95, 0.95), xytext=(0.95, 0.85), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, fontweight="bold",
                arrowprops=dict(facecolor="black", width=4, headwidth=10, headlength=10), zorder=20)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _draw_layers(ax, layers, catalog, crs, lang, handles, clip=None):
    for kind_name, gdf in layers.items():
        kind = catalog[kind_name]
        shown = gdf.to_crs(crs)
        if clip is not None:
            shown = shown.cx[clip[0]:clip[2], clip[1]:clip[3]]
        st = kind.style
        if shown.empty:
            continue  # the legend lists only what the map shows
        shown.plot(ax=ax, facecolor=st.get("fill", "#888888"), edgecolor=st.get("stroke", "#444444"),
                   alpha=st.get("fill_opacity", 0.4) + 0.15, linewidth=0.4)
        handles.append(Patch(facecolor=st.get("fill", "#888888"), edgecolor=st.get("stroke", "#444444"),
                             alpha=st.get("fill_opacity", 0.4) + 0.15, label=kind.label(lang)))


def overview_png(
    layers: Mapping[str, gpd.GeoDataFrame],
    boundary: gpd.GeoDataFrame,
    *,
    screening=None,
    title: str = "",
    catalog: Mapping[str, LayerKind] | None = None,
    theme: Theme | None = None,
    lang: str = "zh",
) -> bytes:
    """The district with every layer and the projects by verdict, as PNG bytes."""
    catalog, theme = catalog or load_catalog(), theme or load_theme()
    _setup(theme)
    crs = working_crs(boundary)
    fig, ax = plt.subplots(figsize=(9, 10))
    handles: list = []
    _draw_layers(ax, layers, catalog, crs, lang, handles)
    boundary.to_crs(crs).boundary.plot(ax=ax, color=theme.boundary.get("stroke", "#212121"), linewidth=1.5)
    handles.append(Patch(facecolor="none", edgecolor=theme.boundary.get("stroke", "#212121"),
                         label="行政边界" if lang == "zh" else "Boundary"))
    if screening is not None:
        _draw_projects(ax, screening, crs, theme, lang, handles, markers=True)
    ax.set_axis_off()
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=14)
    _scale_bar(ax, lang)
    _north_arrow(ax, lang)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False,
              title="图例" if lang == "zh" else "Legend")
    return _png(fig)


def _draw_projects(ax, screening, crs, theme, lang, handles, markers=False, only=None):
    projects = screening.projects.to_crs(crs)
    if only is not None:
        projects = projects[projects["project_id"] == only]
    for verdict in ("clear", "restricted", "conditional", "prohibited"):
        sel = projects[projects["verdict"] == verdict]
        if sel.empty:
            continue
        colour = theme.verdicts[verdict]
        sel.plot(ax=ax, facecolor=colour, edgecolor="black", linewidth=0.8, alpha=0.85, zorder=10)
        if markers:
            pts = sel.geometry.representative_point()
            ax.scatter(pts.x, pts.y, s=28, c=colour, edgecolors="black", linewidths=0.6, zorder=11)
        label = (f"项目 · {_VERDICT_ZH[verdict]}" if lang == "zh" else f"project · {verdict}")
        handles.append(Patch(facecolor=colour, edgecolor="black", label=label))


def project_png(
    project_id: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    screening,
    *,
    margin_m: float = 800.0,
    catalog: Mapping[str, LayerKind] | None = None,
    theme: Theme | None = None,
    lang: str = "zh",
) -> bytes:
    """One project's footprint, the control lines around it and its encroachment pieces, as PNG bytes."""
    catalog, theme = catalog or load_catalog(), theme or load_theme()
    _setup(theme)
    projects = screening.projects
    row = projects[projects["project_id"] == project_id]
    crs = working_crs(row)
    fp = row.to_crs(crs)
    xmin, ymin, xmax, ymax = fp.total_bounds
    pad = max(margin_m, 0.3 * max(xmax - xmin, ymax - ymin))
    box = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    fig, ax = plt.subplots(figsize=(8.5, 6.5))
    handles: list = []
    _draw_layers(ax, layers, catalog, crs, lang, handles, clip=box)
    _draw_projects(ax, screening, crs, theme, lang, handles, only=project_id)
    enc = screening.encroachments
    enc = enc[enc["project_id"] == project_id].to_crs(crs)
    if not enc.empty:
        enc.plot(ax=ax, facecolor="none", edgecolor=theme.encroachment.get("stroke", "#d50000"), hatch="////",
                 linewidth=1.2, zorder=12)
        handles.append(Patch(facecolor="none", edgecolor=theme.encroachment.get("stroke", "#d50000"), hatch="////",
                             label="占用图斑" if lang == "zh" else "encroachment"))
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    r = row.iloc[0]
    verdict = _VERDICT_ZH[r["verdict"]] if lang == "zh" else r["verdict"]
    name = r.get("name", "") if "name" in row.columns else ""
    ax.set_title(f"{project_id} {name or ''} — {verdict}".replace("  ", " "), fontsize=12)
    _scale_bar(ax, lang)
    _north_arrow(ax, lang)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False,
              title="图例" if lang == "zh" else "Legend")
    return _png(fig)
