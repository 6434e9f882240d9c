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
    """Each table a sheet (XlsxWriter: column by column, tens of thousands of rows in well under a second):
    bold shaded headers, widths from the content, numbers as ``#,##0.00`` at full precision, header row frozen."""
    import xlsxwriter

    # built in memory, written in one go: a full disk fails in that one write
    buf = _io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "nan_inf_to_errors": True})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter",
                            "text_wrap": True, "border": 1})
    number = book.add_format({"num_format": "#,##0.00"})
    for name, df in tables.items():
        sheet = book.add_worksheet(name[:31])
        for j, column in enumerate(df.columns):
            values = df[column]
            sheet.write(0, j, str(column), head)
            width = max(len(str(column)), _longest(values))
            sheet.set_column(j, j, min(max(10, width * 1.6), 48))
            if pd.api.types.is_float_dtype(values):
                shown = values.to_numpy(dtype=float)
                shown = np.where((shown < 0) & (np.round(shown, 2) == 0) | (shown == 0), 0.0, shown)  # never -0.00
                cells = [None if v != v else v for v in shown.tolist()]
                sheet.write_column(1, j, cells, number)
            else:
                sheet.write_column(1, j, [_xlsx_value(v) for v in values.tolist()])
        sheet.freeze_panes(1, 0)
    book.close()
    path.write_bytes(buf.getvalue())


def _longest(values: pd.Series, sample: int = 2000) -> int:
    """The longest text of a column as Excel shows it (numbers with two decimals), from its first ``sample``
    rows and its longest texts: a width, not a count."""
    if pd.api.types.is_float_dtype(values):
        finite = values[np.isfinite(values.to_numpy(dtype=float))]
        return len(f"{finite.abs().max():,.2f}") + 1 if len(finite) else 0
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return max((len(str(v)) for v in values.head(sample).tolist()), default=0)
    texts = values.head(sample).map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    return int(texts.str.len().max()) if len(texts) else 0


def _xlsx_value(value):
    """A cell's value as XlsxWriter writes it: numbers and booleans as they are, missing as empty, else text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    return str(value)
