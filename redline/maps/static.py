"""Static maps (PNG, matplotlib): the district overview and one map per flagged project.

Drawn in the local CGCS2000 Gauss-Krüger zone (metres), so the scale bar is
exact; with legend, scale bar and north arrow, and Chinese labels in a CJK font
found on the system (Debian: ``fonts-noto-cjk``). On a machine without one,
the labels are drawn with the bundled ``Redline Sans SC`` (a subset of Noto
Sans CJK SC: GB 2312 and redline's own labels, ``static/font/``). Characters
that no font has are never drawn silently as empty boxes: they are collected
(:class:`FontCheck`) and said once — in a note and one line on stderr —
instead of matplotlib's warning per glyph.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..errors import CatalogError  # noqa: E402
from ..geometry.crs import working_crs  # noqa: E402
from ..specs.catalog import LayerKind, load_catalog  # noqa: E402
from ..specs.theme import Theme, load_theme  # noqa: E402
from ..text import labels, t  # noqa: E402

__all__ = ["cjk_font", "bundled_font", "map_font", "MapFont", "FontCheck", "overview_png", "project_png",
           "FONT_ENV", "BUNDLED_FONT", "FONT_HINT"]

#: The Chinese verdicts the maps draw (the bundled font must have their characters).
_VERDICT_ZH = labels("maps.verdict", "zh")

#: Environment variable choosing the maps' CJK font: ``auto`` (default: the first font of the theme's
#: ``[fonts] cjk`` installed, else the bundled one), ``bundled`` (the bundled font on every machine: the same
#: maps everywhere) or ``none`` (no CJK font at all, as on a bare machine without the bundled font).
FONT_ENV = "REDLINE_MAP_FONT"
#: The bundled fallback: a subset of Noto Sans CJK SC Regular (SIL OFL 1.1), made by ``static/font/make_font.py``.
BUNDLED_FONT = Path(__file__).resolve().parent / "static" / "font" / "RedlineSansSC-Regular.otf"
#: What to do when Chinese is drawn as boxes.
FONT_HINT = ("install a CJK font (Debian/Ubuntu: apt install fonts-noto-cjk; Windows: Microsoft YaHei or SimHei; "
             "macOS: PingFang SC)")

_CJK_FILES = ("notosanscjk", "notoserifcjk", "notosanssc", "notoserifsc", "wqy", "simhei", "simsun", "msyh",
              "pingfang", "stheiti", "hiragino", "songti", "sourcehansans", "droidsansfallback", "arialuni")
_GLYPH = re.compile(r"Glyph (\d+) .*missing from font")
_log = logging.getLogger("redline")
_warned: set[str] = set()


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
            if any(key in path.lower().replace("-", "").replace("_", "").replace(" ", "") for key in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font file FreeType can't read
                    continue
        found = pick()
    return found


@lru_cache(maxsize=1)
def bundled_font() -> str | None:
    """Register the bundled subset font with matplotlib; its family name (None: the file is missing or unreadable)."""
    try:
        font_manager.fontManager.addfont(str(BUNDLED_FONT))
        return font_manager.FontProperties(fname=str(BUNDLED_FONT)).get_name()
    except (OSError, RuntimeError, ValueError):
        return None


@dataclass(frozen=True)
class MapFont:
    """The CJK font static maps draw with: ``family`` (None: none), ``source`` ``system``/``bundled``/``none``,
    ``chosen`` when :data:`FONT_ENV` asked for it."""

    family: str | None
    source: str
    chosen: bool = False

    @property
    def families(self) -> list[str]:
        """matplotlib's font list: the CJK font, the bundled one behind a system font, then DejaVu Sans."""
        first = [self.family] if self.family else []
        if self.source == "system" and bundled_font():
            first.append(bundled_font())
        return [*first, "DejaVu Sans"]


def map_font(theme: Theme | None = None) -> MapFont:
    """The font static maps draw with: the theme's first installed CJK font, else the bundled subset.

    :data:`FONT_ENV` (``REDLINE_MAP_FONT``) = ``bundled`` or ``none`` overrides the choice.
    """
    choice = os.environ.get(FONT_ENV, "").strip().lower() or "auto"
    if choice not in ("auto", "bundled", "none"):
        raise CatalogError(f"{FONT_ENV}={choice!r}: expected auto, bundled or none; unset it to use a system font")
    if choice == "none":
        return MapFont(None, "none", chosen=True)
    if choice == "auto":
        found = cjk_font(tuple((theme or load_theme()).cjk_fonts))
        if found:
            return MapFont(found, "system")
    bundled = bundled_font()
    return MapFont(bundled, "bundled", chosen=choice == "bundled") if bundled else MapFont(None, "none")


@dataclass
class FontCheck:
    """The font static maps drew their text with and the characters no font had (drawn as empty boxes).

    Pass one to several maps (``fonts=``) to say it once for all of them: :meth:`note` for the
    results, :meth:`warn` for one line on stderr.
    """

    font: MapFont | None = None
    missing: set[str] = field(default_factory=set)

    def note(self) -> str | None:
        """One sentence on the maps' font, or None when there is nothing to say."""
        f, missing = self.font, sorted(self.missing)
        if f is None or (not missing and (f.source != "bundled" or f.chosen)):
            return None  # nothing drawn as a box, and no fallback the user did not ask for
        shown = "".join(missing[:30]) + ("…" if len(missing) > 30 else "")
        boxes = (f"{len(missing)} character{'s' if len(missing) > 1 else ''} of the labels "
                 f"{'have' if len(missing) > 1 else 'has'} no glyph and {'are' if len(missing) > 1 else 'is'} "
                 f"drawn as {'empty boxes' if len(missing) > 1 else 'an empty box'}: {shown}")
        if f.source == "system":
            return f"static maps: {boxes} (font {f.family}); put a font that has them first in the theme's [fonts] cjk"
        if f.source == "bundled":
            base = ("static maps: Chinese drawn with redline's bundled font" if f.chosen else
                    "static maps: no CJK font found on this machine; Chinese drawn with redline's bundled font")
            base += " (Redline Sans SC, a subset of Noto Sans CJK SC: GB 2312 and redline's labels)"
            return (f"{base}; {boxes}; {FONT_HINT} and draw the maps again" if missing
                    else f"{base}; for characters beyond it, {FONT_HINT}")
        return f"static maps: no CJK font found; {boxes}; {FONT_HINT} and draw the maps again"

    def warn(self) -> None:
        """Say :meth:`note` on stderr (logger ``redline``), once per process; not when the bundled font was asked
        for and lacked nothing."""
        note = self.note()
        if note and note not in _warned:
            _warned.add(note)
            _log.warning("redline: warning: %s", note)


def _regular_for_bold(record: logging.LogRecord) -> bool:
    """Drop matplotlib's log line when a CJK font has no bold (the north arrow is then drawn regular)."""
    return not str(record.msg).startswith("findfont: Failed to find font weight")


@contextmanager
def _drawing(theme: Theme, fonts: FontCheck | None):
    """Draw with the map font; matplotlib's warnings of missing glyphs become ``fonts.missing`` (said once)."""
    check = fonts if fonts is not None else FontCheck()
    check.font = map_font(theme)
    quiet = logging.getLogger("matplotlib.font_manager")
    quiet.addFilter(_regular_for_bold)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with plt.rc_context({"font.family": check.font.families, "axes.unicode_minus": False}):
                yield check
    finally:
        quiet.removeFilter(_regular_for_bold)
    for w in caught:
        found = _GLYPH.search(str(w.message))
        if found:
            check.missing.add(chr(int(found.group(1))))
        else:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if fonts is None:
        check.warn()


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
    label = t("maps.static.scale_km", lang, km=nice / 1000) if nice >= 1000 else t("maps.static.scale_m", lang, m=nice)
    ax.text(bx + nice / 2, by + h * 2, label, ha="center", va="bottom", fontsize=8, zorder=20)


def _north_arrow(ax, lang: str) -> None:
    ax.annotate(t("maps.static.north", lang), xy=(0.95, 0.95), xytext=(0.95, 0.85), xycoords="axes fraction",
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
    fonts: FontCheck | None = None,
) -> bytes:
    """The district with every layer and the projects by verdict, as PNG bytes.

    Characters no font has are collected in ``fonts`` (a :class:`FontCheck` shared by several maps, said once by
    its owner); without it they are said on stderr once.
    """
    catalog, theme = catalog or load_catalog(), theme or load_theme()
    with _drawing(theme, fonts):
        return _overview(layers, boundary, screening, title, catalog, theme, lang)


def _overview(layers, boundary, screening, title, catalog, theme, lang) -> bytes:
    crs = working_crs(boundary)
    fig, ax = plt.subplots(figsize=(9, 10))
    handles: list = []
    _draw_layers(ax, layers, catalog, crs, lang, handles)
    boundary.to_crs(crs).boundary.plot(ax=ax, color=theme.boundary.get("stroke", "#212121"), linewidth=1.5)
    handles.append(Patch(facecolor="none", edgecolor=theme.boundary.get("stroke", "#212121"),
                         label=t("maps.boundary", lang)))
    if screening is not None:
        _draw_projects(ax, screening, crs, theme, lang, handles, markers=True)
    ax.set_axis_off()
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=14)
    _scale_bar(ax, lang)
    _north_arrow(ax, lang)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False,
              title=t("maps.legend", lang))
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
        label = t("maps.static.project", lang, verdict=t(f"maps.verdict.{verdict}", lang))
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
    fonts: FontCheck | None = None,
) -> bytes:
    """One project's footprint, the control lines around it and its encroachment pieces, as PNG bytes.

    ``fonts``: as for :func:`overview_png`.
    """
    catalog, theme = catalog or load_catalog(), theme or load_theme()
    with _drawing(theme, fonts):
        return _project(project_id, layers, screening, margin_m, catalog, theme, lang)


def _project(project_id, layers, screening, margin_m, catalog, theme, lang) -> bytes:
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
                             label=t("maps.static.encroachment", lang)))
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    r = row.iloc[0]
    verdict = t(f"maps.verdict.{r['verdict']}", lang)
    name = r.get("name", "") if "name" in row.columns else ""
    ax.set_title(f"{project_id} {name or ''} — {verdict}".replace("  ", " "), fontsize=12)
    _scale_bar(ax, lang)
    _north_arrow(ax, lang)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False,
              title=t("maps.legend", lang))
    return _png(fig)
