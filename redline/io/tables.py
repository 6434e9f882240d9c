"""Tables: CSV in (UTF-8 or GBK), and CSV, Markdown and Excel out, numbers formatted one way."""

from __future__ import annotations

import io as _io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import LayerReadError, OutputError
from .sources import _gdal_message
from .write import atomic_output, register_input


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV table (UTF-8, with or without BOM, or GBK/GB18030 as Excel on Chinese Windows saves it)."""
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: file not found")
    if path.is_dir():
        raise LayerReadError(f"{path}: is a directory; give the path of a CSV table")
    register_input(path)
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise LayerReadError(f"{path}: neither UTF-8 nor GB18030 text")
    try:
        return pd.read_csv(_io.StringIO(text), dtype=str).apply(lambda c: c.str.strip())
    except Exception as exc:
        raise LayerReadError(f"{path}: not a readable CSV table ({_gdal_message(exc, path)})") from None


def format_number(value, digits: int = 2) -> str:
    """A number as every table shows it: thousands separators, ``digits`` decimals, and never ``-0.00``.

    A value that rounds to zero shows as zero, whatever its sign (``-0.0``, or a float's noise like ``-1e-9``).

    Examples
    --------
    >>> format_number(-1091.904441), format_number(-0.0), format_number(-1.2e-7), format_number(0.004, 1)
    ('-1,091.90', '0.00', '0.00', '0.0')
    """
    text = f"{float(value):,.{digits}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        return text[1:]
    return text


def _unsigned_zeros(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its negative zeros (``-0.0``, as rounding a small negative value gives) made 0.0."""
    cols = [c for c in df.columns if df[c].dtype.kind == "f"]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        v = out[c].to_numpy()
        out[c] = np.where((v == 0) & np.signbit(v), 0.0, v)
    return out


def _markdown(df: pd.DataFrame) -> str:
    def cell(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float):
            return format_number(v)
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(map(cell, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_tables(tables: dict[str, pd.DataFrame], path: str | os.PathLike) -> Path:
    """Write named tables atomically: ``.xlsx`` (one sheet each, bold headers, widths set), ``.md``
    (one section each), or ``.csv`` (UTF-8 with BOM so Excel shows Chinese; one table only)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv" and len(tables) != 1:
        raise OutputError(f"{path}: a CSV holds one table; {len(tables)} given — use .xlsx or .md")
    with atomic_output(path) as tmp:
        if suffix == ".csv":  # full precision; only a negative zero loses its sign
            _unsigned_zeros(next(iter(tables.values()))).to_csv(tmp, index=False, encoding="utf-8-sig")
        elif suffix == ".md":
            parts = [f"## {name}\n\n{_markdown(df)}\n" for name, df in tables.items()]
            tmp.write_text("\n".join(parts), encoding="utf-8")
        elif suffix == ".xlsx":
            _write_xlsx(tables, tmp)
        else:
            raise OutputError(f"{path}: unknown table format {suffix!r}; use .csv, .xlsx or .md")
    return path


def _write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    # built in memory, written in one go: a full disk fails in that one write (a workbook half-written by
    # openpyxl leaves a ZipFile that complains when it is collected)
    buf = _io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in tables.items():
            sheet = name[:31]
            df.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            for cell in ws[1]:
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="DDEBF7")
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width * 1.6), 48)
                for c in col[1:]:
                    if isinstance(c.value, float):
                        c.number_format = "#,##0.00"
                        if c.value < 0 and format_number(c.value) == "0.00" or c.value == 0:
                            c.value = 0.0  # shown as 0.00, never -0.00
            ws.freeze_panes = "A2"
    path.write_bytes(buf.getvalue())
