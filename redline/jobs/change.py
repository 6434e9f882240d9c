"""``redline change``: a layer's change between versions (面积不减少、性质不改变), compared, written, gated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..analyses.change import ChangeResult, change
from ..io import format_number
from ..text import t
from .common import listed, read_polygons, refuse_overwrite, write_result

__all__ = ["ChangeRun", "change_job", "decrease_failure"]

@dataclass
class ChangeRun:
    """What a change run gave: the result, the files written, and why ``--no-decrease`` failed (None: it passed)."""

    result: ChangeResult
    written: list[Path] = field(default_factory=list)
    failure: str | None = None


def decrease_failure(result: ChangeResult, strict: bool, lang: str) -> str | None:
    """What trips ``--no-decrease`` (``strict``: in any unit too), said as ``screen --fail-on`` says it."""
    if not result.decreased(strict):
        return None
    ha = t("jobs.change.hectares", lang)
    parts = []
    if result.decreased():
        tot = result.totals
        parts.append(f"by {format_number(-tot['net_m2'] / 1e4)} {ha} ({format_number(tot['old_m2'] / 1e4)} → "
                     f"{format_number(tot['new_m2'] / 1e4)} {ha})")
    if strict:
        u = result.by_unit[result.by_unit["net_m2"] < -result.tolerance]
        if len(u):
            parts.append(f"in {len(u)} unit{'s' if len(u) > 1 else ''} (" + listed(
                f"{name} {format_number(net / 1e4)} {ha}" for name, net in zip(u["unit"], u["net_m2"])) + ")")
    return f"--no-decrease{' --strict' if strict else ''}: the area decreased (面积减少) " + " and ".join(parts)


def change_job(old, new, *, key=None, units=None, by=None, tolerance: float = 1.0, no_decrease: bool = False,
               strict: bool = False, out=None, table_path=None, lang: str = "zh", progress=None) -> ChangeRun:
    """Check the outputs, read both versions (and the units), compare them, write ``out`` (GeoPackage) and
    ``table_path``; with ``no_decrease``, say what decreased. ``progress(description, done, total)`` follows
    the reads."""
    refuse_overwrite([out, table_path], [old, new, units])
    items = {"old": old, "new": new, **({"units": units} if units is not None else {})}
    read, notes = read_polygons(items, progress)
    result = change(read["old"], read["new"], key=key, units=read.get("units"), by=by, tolerance=tolerance)
    result.notes[:0] = notes
    written = write_result(result, out, table_path, lang)
    return ChangeRun(result, written, decrease_failure(result, strict, lang) if no_decrease else None)
