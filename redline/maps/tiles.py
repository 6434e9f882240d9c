"""Raster tiles for layers too large to draw as vectors in one page (a city's 500 000 parcels).

A large layer is rendered once, in Web Mercator (EPSG:3857, the tile grid Leaflet and every basemap use), at
the deepest zoom it needs: pixels of about 1/12 of its median feature, within a tile budget. Blocks of 16 × 16
tiles are rasterised (fill and 1-pixel outlines, rasterio) and averaged 2 × 2 into each coarser zoom, so a
zoomed-out tile shows the layer's true density (antialiased) rather than a sample of it; blocks' coarsest level is
kept in a small mosaic that makes the zooms above. Tiles are 256-pixel palette PNGs (fill and outline each in 16
levels of coverage) written as ``DIR/{z}/{x}/{y}.png``; empty ones are not written. Leaflet loads them as images,
which browsers allow from ``file://`` (they refuse fetch/XHR there), and scales the deepest ones beyond it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer
from rasterio.transform import Affine

from ..geometry.burn import burn

__all__ = ["TileSet", "render_tiles", "tile_zooms"]

TILE = 256
_ORIGIN = 20037508.342789244  # half the Web Mercator world, metres
_BLOCK = 16  # tiles per block side at the deepest zoom (4096 pixels)
_LEVELS = 16  # coverage levels of fill and of outline in the palette (16 × 16 = 256 entries)
_MAX_ZOOM = 17  # ~1.2 m pixels: deeper is Leaflet's scaling of these tiles


@dataclass(frozen=True)
class TileSet:
    """Tiles written for one layer: their zooms, extent (lon/lat: west, south, east, north), count, bytes and
    keys (``"z/x/y"``, in the order written)."""

    zmin: int
    zmax: int
    bounds: tuple[float, float, float, float]
    count: int
    bytes: int
    written: tuple[str, ...] = ()


def _res(z: int) -> float:
    """Metres (Web Mercator) per pixel at zoom ``z``."""
    return 2 * _ORIGIN / (TILE * 2 ** z)


def tile_zooms(bounds: tuple[float, float, float, float], feature_m: float, max_tiles: int = 4096) -> tuple[int, int]:
    """The zooms to render a layer of extent ``bounds`` (EPSG:3857 metres) whose typical feature is ``feature_m``
    across: the deepest draws it ~12 pixels across, within ``max_tiles`` tiles over the extent; the shallowest
    shows the whole extent in about one tile."""
    x0, y0, x1, y1 = bounds
    span = max(x1 - x0, y1 - y0, 1.0)
    zmax = min(_MAX_ZOOM, max(0, math.ceil(math.log2(_res(0) * 12 / max(feature_m, 1.0)))))
    while zmax > 0 and ((x1 - x0) / (_res(zmax) * TILE) + 1) * ((y1 - y0) / (_res(zmax) * TILE) + 1) > max_tiles:
        zmax -= 1
    zmin = max(0, min(zmax, math.floor(math.log2(2 * _ORIGIN / span)) - 1))
    return zmin, zmax


class _Source:
    """A layer's polygons in their own CRS, handed out block by block in Web Mercator: the layer is never held
    twice (a city's 500 000 parcels reprojected at once took 0.6 GB more)."""

    def __init__(self, geoms: np.ndarray, crs):
        self.geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))]
        self.tree = shapely.STRtree(self.geoms)
        crs = CRS.from_user_input(crs)
        self.same = crs.equals(CRS.from_epsg(3857))
        self.fwd = Transformer.from_crs(crs, 3857, always_xy=True)
        self.back = Transformer.from_crs(3857, crs, always_xy=True)

    def bounds(self) -> tuple[float, float, float, float]:
        """The extent in EPSG:3857 (edges densified, so a curved edge's bulge is inside)."""
        b = tuple(float(v) for v in shapely.total_bounds(self.geoms))
        return b if self.same else self.fwd.transform_bounds(*b, densify_pts=21)

    def feature_m(self) -> float:
        """The median feature's size in EPSG:3857 metres (the root of its area), from up to 20 000 features."""
        pick = np.unique(np.linspace(0, len(self.geoms) - 1, min(len(self.geoms), 20000)).astype(np.int64))
        return float(np.median(np.sqrt(shapely.area(self.mercator(self.geoms[pick])))))

    def mercator(self, geoms: np.ndarray) -> np.ndarray:
        if self.same:
            return geoms
        return shapely.transform(geoms, lambda xy: np.column_stack(self.fwd.transform(xy[:, 0], xy[:, 1])))

    def within(self, left: float, bottom: float, right: float, top: float) -> np.ndarray:
        """The polygons meeting the EPSG:3857 box, in EPSG:3857, in the layer's order."""
        box = (left, bottom, right, top) if self.same else self.back.transform_bounds(left, bottom, right, top,
                                                                                      densify_pts=21)
        hit = self.tree.query(shapely.box(*box))
        hit.sort()
        return self.mercator(self.geoms[hit])


def _palette(fill: str, stroke: str, fill_opacity: float) -> tuple[bytes, bytes]:
    """RGB and alpha of the 256 palette entries: index ``16 f + o`` is fill coverage f/15 under outline o/15."""
    def rgb(colour: str) -> np.ndarray:
        return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)

    f, o = np.meshgrid(np.arange(_LEVELS) / (_LEVELS - 1), np.arange(_LEVELS) / (_LEVELS - 1), indexing="ij")
    a_fill, a_line = (f * fill_opacity).ravel(), o.ravel()
    alpha = a_line + a_fill * (1 - a_line)
    weight = np.where(alpha > 0, 1 / np.maximum(alpha, 1e-9), 0)
    colours = (rgb(stroke)[None, :] * a_line[:, None] + rgb(fill)[None, :] * (a_fill * (1 - a_line))[:, None])
    colours = np.clip(np.rint(colours * weight[:, None]), 0, 255).astype(np.uint8)
    return colours.tobytes(), np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8).tobytes()


class _Writer:
    """Writes the non-empty tiles of coverage arrays as palette PNGs under ``folder``."""

    def __init__(self, folder: Path, palette: tuple[bytes, bytes]):
        self.folder, self.palette = folder, palette
        self.count = self.bytes = 0
        self.written: list[str] = []

    def tiles(self, z: int, tx0: int, ty0: int, index: np.ndarray) -> None:
        """Write the tiles of the palette ``index`` (uint8) whose top-left tile is (``tx0``, ``ty0``)."""
        from PIL import Image

        rows, cols = index.shape[0] // TILE, index.shape[1] // TILE
        tiles = index.reshape(rows, TILE, cols, TILE).swapaxes(1, 2)
        for r, c in zip(*np.nonzero(tiles.any(axis=(2, 3)))):
            img = Image.fromarray(np.ascontiguousarray(tiles[r, c]), mode="P")
            img.putpalette(self.palette[0])
            buf = io.BytesIO()
            img.save(buf, format="PNG", transparency=self.palette[1], compress_level=6)
            path = self.folder / str(z) / str(tx0 + int(c)) / f"{ty0 + int(r)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            # ``folder`` is a staging folder: the map's atomic_output (or a report's atomic_folder) moves it in
            path.write_bytes(buf.getvalue())
            self.count += 1
            self.bytes += buf.tell()
            self.written.append(f"{z}/{tx0 + int(c)}/{ty0 + int(r)}")


def _index(fill: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Palette indices of fill and outline coverage in [0, 1]."""
    return (np.rint(fill * (_LEVELS - 1)).astype(np.uint8) * _LEVELS
            + np.rint(line * (_LEVELS - 1)).astype(np.uint8))


def _halve(a: np.ndarray) -> np.ndarray:
    """2 × 2 means (the next zoom out), float32."""
    h, w = a.shape
    return a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3), dtype=np.float32)


def _block(source: _Source, z: int, bx: int, by: int, side: int) -> np.ndarray | None:
    """The block whose top-left tile at ``z`` is (bx, by), burnt: 0 outside, 1 inside, 2 on an outline."""
    res, px = _res(z), side * TILE
    left, top = bx * TILE * res - _ORIGIN, _ORIGIN - by * TILE * res
    part = source.within(left, top - px * res, left + px * res, top)
    if not len(part):
        return None
    return burn([(part, 1), (shapely.boundary(part), 2)], out_shape=(px, px),
                transform=Affine(res, 0, left, 0, -res, top))


_BURNT_INDEX = np.array([0, (_LEVELS - 1) * _LEVELS, _LEVELS * _LEVELS - 1], dtype=np.uint8)  # out, in, outline


def render_tiles(geoms: np.ndarray, crs, folder: Path, *, fill: str, stroke: str, fill_opacity: float,
                 max_tiles: int = 4096, progress=None) -> TileSet:
    """Render polygons ``geoms`` (in ``crs``) as tiles under ``folder`` (``{z}/{x}/{y}.png``).

    ``progress(done, total)`` is called after each block.
    """
    source = _Source(geoms, crs)
    if not len(source.geoms):
        return TileSet(0, 0, (0.0, 0.0, 0.0, 0.0), 0, 0)
    x0, y0, x1, y1 = source.bounds()
    zmin, zmax = tile_zooms((x0, y0, x1, y1), source.feature_m(), max_tiles)
    zb = max(zmin, zmax - (_BLOCK.bit_length() - 1))  # each block's coarsest zoom: one tile
    side = 2 ** (zmax - zb)
    step = TILE * _res(zmax)
    align = side * 2 ** (zb - zmin)  # blocks aligned so that the mosaic halves evenly down to zmin
    tx0 = int((x0 + _ORIGIN) // step) // align * align
    ty0 = int((_ORIGIN - y1) // step) // align * align
    nbx = -(-(int((x1 + _ORIGIN) // step) + 1 - tx0) // align) * (align // side)
    nby = -(-(int((_ORIGIN - y0) // step) + 1 - ty0) // align) * (align // side)
    writer = _Writer(folder, _palette(fill, stroke, fill_opacity))
    mosaic_f = np.zeros((nby * TILE, nbx * TILE), dtype=np.float32)
    mosaic_l = np.zeros_like(mosaic_f)
    for k in range(nbx * nby):
        j, i = divmod(k, nbx)
        bx, by = tx0 + i * side, ty0 + j * side
        burnt = _block(source, zmax, bx, by, side)
        if burnt is not None:
            writer.tiles(zmax, bx, by, _BURNT_INDEX[burnt])
            f, line = burnt > 0, burnt == 2
            del burnt
            for z in range(zmax - 1, zb - 1, -1):
                f, line = _halve(f), _halve(line)
                writer.tiles(z, bx >> (zmax - z), by >> (zmax - z), _index(f, line))
            mosaic_f[j * TILE:(j + 1) * TILE, i * TILE:(i + 1) * TILE] = f
            mosaic_l[j * TILE:(j + 1) * TILE, i * TILE:(i + 1) * TILE] = line
        if progress is not None:
            progress(k + 1, nbx * nby)
    del source
    for z in range(zb - 1, zmin - 1, -1):
        mosaic_f, mosaic_l = _halve(mosaic_f), _halve(mosaic_l)
        shift = zb - z
        writer.tiles(z, (tx0 // side) >> shift, (ty0 // side) >> shift, _index(mosaic_f, mosaic_l))
    lonlat = Transformer.from_crs(3857, 4326, always_xy=True).transform_bounds(x0, y0, x1, y1)
    return TileSet(zmin, zmax, lonlat, writer.count, writer.bytes, tuple(writer.written))

