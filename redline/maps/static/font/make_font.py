"""Make ``RedlineSansSC-Regular.otf``: the CJK font static maps fall back to when the machine has none.

A subset of Noto Sans CJK SC Regular (SIL OFL 1.1, see ``OFL.txt``) holding:

- printable ASCII;
- every character of GB 2312 (the 6 763 hanzi of levels 1 and 2 and its 682 symbols), so that the names in most
  users' data draw too;
- every non-ASCII character of redline's own text (``redline/``, ``layers/``, ``analyses/``, ``maps/``): the labels
  the maps draw (legend, scale bar, north arrow, verdicts);
- every character of the sample county's attributes and files (``data/qianjiang``).

It is renamed "Redline Sans SC" (the OFL's clause 3: a Modified Version does not use the Reserved Font Name), and
drops what matplotlib does not use (hinting, layout and vertical-metrics tables). Run from the repository root, with
redline installed (``pip install -e .``: fontTools comes with matplotlib) and the Noto CJK fonts (Debian:
``apt install fonts-noto-cjk``)::

    python redline/maps/static/font/make_font.py [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]

The same source font and repository text give the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
TARGET = HERE / "RedlineSansSC-Regular.otf"
FAMILY, POSTSCRIPT = "Redline Sans SC", "RedlineSansSC-Regular"
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FACE = "Noto Sans CJK SC"


def gb2312() -> set[str]:
    """Every character of GB 2312 (rows 0xA1–0xF7 of the EUC-CN code table)."""
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def own_text() -> set[str]:
    """The non-ASCII characters of redline's code, catalog, recipes and themes."""
    chars = set()
    for folder, pattern in (("redline", "*.py"), ("layers", "*.toml"), ("analyses", "*.toml"), ("maps", "*.toml")):
        for path in sorted((REPO / folder).rglob(pattern)):
            chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) > 0x7E}
    return chars


def sample_text() -> set[str]:
    """The non-ASCII characters of the sample county's attribute values, field names and text files."""
    import pyogrio

    chars = set()
    sample = REPO / "data" / "qianjiang"
    for path in sorted(sample.iterdir()):
        if path.suffix in (".gpkg", ".geojson"):
            for layer, _ in pyogrio.list_layers(path):
                df = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
                for text in map(str, [*df.columns, *df.to_numpy().ravel()]):
                    chars |= {c for c in text if ord(c) > 0x7E}
        elif path.suffix in (".csv", ".toml"):
            chars |= {c for c in path.read_text(encoding="utf-8-sig") if ord(c) > 0x7E}
    return chars


def main(argv=None) -> int:
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="Noto Sans CJK Regular (.ttc or the SC .otf)")
    args = parser.parse_args(argv)
    if args.source.suffix.lower() == ".ttc":
        faces = TTCollection(args.source).fonts
        font = next(f for f in faces if f["name"].getDebugName(1) == SOURCE_FACE)
    else:
        font = TTFont(args.source)
    font.recalcTimestamp = False  # byte-for-byte reproducible
    version = font["name"].getDebugName(5)

    wanted = {chr(c) for c in range(0x20, 0x7F)} | gb2312() | own_text() | sample_text()
    cmap = font.getBestCmap()
    absent = sorted(c for c in wanted if ord(c) not in cmap)
    wanted -= set(absent)

    options = subset.Options()
    options.layout_features = []            # matplotlib does no shaping
    options.hinting = False                 # matplotlib hints by itself (text.hinting)
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(wanted)))
    subsetter.subset(font)

    name = font["name"]
    for record in list(name.names):
        if record.nameID in (1, 2, 3, 4, 6, 10, 16, 17, 21, 22):
            name.removeNames(nameID=record.nameID)
    for name_id, text in ((1, FAMILY), (2, "Regular"), (3, f"{POSTSCRIPT};{version.split(';')[0]};subset"),
                          (4, FAMILY), (5, f"{version}; subset by redline make_font.py"), (6, POSTSCRIPT),
                          (10, f"A subset of {SOURCE_FACE} Regular ({len(wanted)} characters: GB 2312, "
                               "redline's labels and sample data) for redline's static maps.")):
        name.setName(text, name_id, 3, 1, 0x409)
        name.setName(text, name_id, 1, 0, 0)
    cff = font["CFF "].cff
    cff.fontNames = [POSTSCRIPT]
    top = cff.topDictIndex[0]
    top.FullName, top.FamilyName = FAMILY, FAMILY
    from redline.io import atomic_output

    with atomic_output(TARGET) as tmp:  # never a half-written font
        font.save(tmp)
    print(f"{TARGET.relative_to(REPO)}: {len(wanted)} characters, {TARGET.stat().st_size:,} bytes")
    if absent:
        print(f"not in {SOURCE_FACE} (left out): {''.join(absent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
