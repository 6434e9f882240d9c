"""QGIS styles: QML documents from the catalog colours, for the ``layer_styles`` table of a GeoPackage.

QGIS applies the style marked ``useAsDefault`` in a GeoPackage's ``layer_styles``
table when the layer is opened, so the layers redline writes open styled.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

__all__ = ["fill_qml", "categorized_qml", "outline_qml"]

_HEAD = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.28\" styleCategories=\"Symbology\">\n"


def _rgba(colour: str, alpha: float = 1.0) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _symbol(name: str, fill: str, stroke: str, fill_alpha: float, width: float = 0.26, brush: str = "solid") -> str:
    return (
        f'<symbol type="fill" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" pass="0" locked="0"><Option type="Map">'
        f'<Option name="color" type="QString" value="{_rgba(fill, fill_alpha)}"/>'
        f'<Option name="outline_color" type="QString" value="{_rgba(stroke)}"/>'
        f'<Option name="outline_width" type="QString" value="{width}"/>'
        '<Option name="outline_width_unit" type="QString" value="MM"/>'
        f'<Option name="style" type="QString" value="{brush}"/>'
        '<Option name="outline_style" type="QString" value="solid"/>'
        "</Option></layer></symbol>"
    )


def fill_qml(fill: str, stroke: str, fill_opacity: float = 0.5) -> str:
    """A single-symbol polygon style.

    Examples
    --------
    >>> "46,125,50,115" in fill_qml("#2e7d32", "#1b5e20", 0.45)
    True
    """
    return (f'{_HEAD}<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{_symbol('0', fill, stroke, fill_opacity)}</symbols></renderer-v2></qgis>\n")


def outline_qml(stroke: str, width: float = 0.6) -> str:
    """A hollow polygon style (boundaries, units)."""
    return (f'{_HEAD}<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{_symbol('0', '#ffffff', stroke, 0.0, width, 'no')}</symbols></renderer-v2></qgis>\n")


def categorized_qml(field: str, categories: list[tuple[str, str, str]], stroke: str = "#000000",
                    fill_opacity: float = 0.75) -> str:
    """A categorized polygon style: ``categories`` are ``(value, label, fill colour)``.

    Examples
    --------
    >>> 'attr="verdict"' in categorized_qml("verdict", [("prohibited", "禁止", "#d50000")])
    True
    """
    cats = "".join(
        f'<category value={quoteattr(v)} symbol="{i}" label={quoteattr(label)} render="true"/>'
        for i, (v, label, _) in enumerate(categories)
    )
    symbols = "".join(_symbol(str(i), colour, stroke, fill_opacity, 0.5) for i, (_, _, colour) in enumerate(categories))
    return (f'{_HEAD}<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" '
            f'enableorderby="0" forceraster="0"><categories>{cats}</categories><symbols>{symbols}</symbols>'
            "</renderer-v2></qgis>\n")
