"""Bad spec files (issue 15): workspaces, recipes, rule sets, class maps, transitions, the catalog and map themes.

Every spec is checked against its schema before any layer is read: a value of the wrong type, an unknown key
or a name the catalog doesn't know (a kind, a zone, a category, a class code) gives ONE line naming the file and
every problem, with the closest valid name. Each file is made in ``tmp_path`` from the bundled sample.
"""

from __future__ import annotations

import doctest
import json
import re
import shutil

import geopandas as gpd
import pytest
from conftest import REPO
from pyproj import Geod
from shapely import box
from test_bad_input import one_line_error, run

from redline.errors import CatalogError

RECIPE = (REPO / "analyses" / "qianjiang-2025.toml").read_text(encoding="utf-8")
WORKSPACE = (REPO / "data" / "qianjiang" / "workspace.toml").read_text(encoding="utf-8")
RULES = (REPO / "analyses" / "screening-default.toml").read_text(encoding="utf-8")
TRANSITIONS = (REPO / "analyses" / "classes" / "human_activity.toml").read_text(encoding="utf-8")
WORLDCOVER = (REPO / "analyses" / "classes" / "worldcover.toml").read_text(encoding="utf-8")
THEME = (REPO / "maps" / "default.toml").read_text(encoding="utf-8")
GEOD = Geod(ellps="GRS80")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def problems(line: str) -> int:
    """The count a one-line error gives ('…, 3 problems: …'), 1 when it names one."""
    found = re.search(r", (\d+) problems: ", line)
    return int(found.group(1)) if found else 1


def missing_boundary_workspace(tmp_path, extra: str = "") -> object:
    """A workspace whose boundary does not exist: whatever is read first fails — a spec error must come before."""
    return write(tmp_path / "workspace.toml", f'boundary = "missing.gpkg"\n{extra}')


# --- recipes ------------------------------------------------------------------------------------------------


def test_recipe_unknown_kind_is_an_error_not_no_data(tmp_path):
    """`share:eco_redlin` used to be accepted and print 无数据; now it fails before anything is read."""
    recipe = write(tmp_path / "recipe.toml", RECIPE.replace("share:eco_redline", "share:eco_redlin"))
    line = one_line_error(run("scorecard", "--workspace", missing_boundary_workspace(tmp_path), "--recipe", recipe),
                          "recipe.toml", "[[indicator]] 1 (eco_redline_share)", "unknown kind 'eco_redlin'",
                          "did you mean eco_redline?")
    assert "missing.gpkg" not in line  # validated before the boundary was read


def test_recipe_lists_every_problem_on_one_line(tmp_path):
    text = (RECIPE.replace("share:nature_reserve", "share:nature_reserv")              # kind typo
            .replace('comparator = ">="\ntarget = 65', 'comparator = "=>"\ntarget = 65')  # comparator typo
            .replace("target = 45", 'target = "45"')                                      # wrong type
            .replace("target = 75", "taget = 75")                                         # key typo
            .replace("landuse:forest_coverage", "landuse:forest_coverag")                 # metric typo
            .replace("title =", "titel ="))                                               # top-level key typo
    text += ('\n[[indicator]]\nid = "core"\nname_zh = "核心保护区占比"\nmetric = "share:nature_reserve:核心保户区"\n'
             'unit = "%"\ncomparator = ">="\ntarget = 3\n'
             '\n[[indicator]]\nid = "red_zone"\nname_zh = "红线分区"\nmetric = "share:eco_redline:一级"\n'
             'unit = "%"\ncomparator = ">="\ntarget = 3\ndecimals = 2.5\n')
    recipe = write(tmp_path / "recipe.toml", text)
    proc = run("indicators", "--boundary", tmp_path / "missing.gpkg", "--recipe", recipe)
    line = one_line_error(
        proc, "recipe.toml: invalid recipe",
        "unknown key 'titel' — did you mean title?",
        "[[indicator]] 2 (protected_area_share): metric 'share:nature_reserv': unknown kind 'nature_reserv' — "
        "did you mean nature_reserve?",
        "[[indicator]] 3 (forest_coverage): unknown metric 'landuse:forest_coverag' — did you mean "
        "landuse:forest_coverage?",
        "[[indicator]] 3 (forest_coverage): comparator '=>' is not one of", "did you mean >=?",
        "[[indicator]] 4 (builtup_green_coverage): target must be a number, not '45' (a string)",
        "[[indicator]] 5 (farmland_area): unknown key 'taget' — did you mean target?",
        "[[indicator]] 5 (farmland_area): 'target' is required",
        "[[indicator]] 6 (core): metric 'share:nature_reserve:核心保户区': unknown zone '核心保户区' of nature_reserve — "
        "did you mean 核心保护区?",
        "[[indicator]] 7 (red_zone): metric 'share:eco_redline:一级': eco_redline has no zones in the catalog",
        "[[indicator]] 7 (red_zone): decimals must be an integer 0–6, not 2.5",
    )
    assert problems(line) == 10


@pytest.mark.parametrize("content, expected", [
    ("title = 5\n", "title must be a string, not 5 (an integer)"),
    ('indicator = "x"\n', "indicator must be [[indicator]] tables, not 'x' (a string)"),
    ('title = "t"\n', "no [[indicator]] tables"),
    ("indicator = [1]\n", "[[indicator]] 1 must be a table, not 1 (an integer)"),
])
def test_recipe_wrong_shapes(tmp_path, content, expected):
    recipe = write(tmp_path / "r.toml", content)
    one_line_error(run("scorecard", "--boundary", tmp_path / "missing.gpkg", "--recipe", recipe), "r.toml", expected)


def test_recipe_zone_metric_is_measured(tmp_path):
    """`share:KIND:ZONE` (a zone by any of its catalog names) is measured, not 无数据; checked against pyproj.Geod.

    The zone's features may carry any value the catalog matches to it (一级 and 一级保护区 are both 一级).
    """
    district = box(108.70, 29.50, 108.74, 29.54)
    a, b, c = box(108.705, 29.505, 108.715, 29.515), box(108.72, 29.505, 108.725, 29.51), box(108.71, 29.52, 108.73, 29.53)
    gpd.GeoDataFrame({"name": ["d"]}, geometry=[district], crs=4490).to_file(tmp_path / "b.gpkg")
    gpd.GeoDataFrame({"级别": ["一级保护区", "一级", "二级"]}, geometry=[a, b, c], crs=4490).to_file(tmp_path / "w.gpkg")
    write(tmp_path / "ws.toml", 'boundary = "b.gpkg"\n[layers]\nwater_source = "w.gpkg"\n')
    recipe = write(tmp_path / "r.toml",
                   '[[indicator]]\nid = "l1"\nname_zh = "一级"\nmetric = "share:water_source:Level 1"\nunit = "%"\n'
                   'comparator = ">="\ntarget = 1\ndecimals = 4\n'
                   '[[indicator]]\nid = "l2"\nname_zh = "二级"\nmetric = "area:water_source:二级"\nunit = "公顷"\n'
                   'comparator = ">="\ntarget = 1\ndecimals = 4\n'
                   '[[indicator]]\nid = "q"\nname_zh = "准"\nmetric = "area:water_source:准保护区"\nunit = "公顷"\n'
                   'comparator = ">="\ntarget = 1\ndecimals = 4\n')
    proc = run("scorecard", "--workspace", tmp_path / "ws.toml", "--recipe", recipe, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)["scorecard"]}

    def m2(geom):
        return abs(GEOD.geometry_area_perimeter(geom)[0])

    assert rows["l1"]["metric"] == "share:water_source:一级"
    assert rows["l1"]["value"] == pytest.approx(round(100 * (m2(a) + m2(b)) / m2(district), 4), abs=1e-4)
    assert rows["l2"]["value"] == pytest.approx(round(m2(c) / 1e4, 4), abs=1e-4)
    assert rows["q"]["value"] == 0 and rows["q"]["status"] == "未达标"  # measured: the layer has no such zone


# --- workspaces ---------------------------------------------------------------------------------------------


def test_workspace_value_of_the_wrong_type(tmp_path):
    """`boundary = 42` was a TypeError traceback; now one line naming every key and the file."""
    ws = write(tmp_path / "workspace.toml",
               'boundary = 42\nby = 3\nunits = ["townships.gpkg"]\nlanduse = ""\n[layers]\neco_redline = 5\n')
    line = one_line_error(run("indicators", "--workspace", ws), "workspace.toml: invalid workspace, 5 problems",
                          "boundary must be a path (a string), not 42 (an integer)",
                          "by must be a field name (a string), not 3 (an integer)",
                          "units must be a path (a string), not ['townships.gpkg'] (a list)",
                          "landuse must be a path (a string), not empty",
                          "layers.eco_redline must be a path (a string), not 5 (an integer)")
    assert problems(line) == 5


@pytest.mark.parametrize("command", ["indicators", "scorecard", "report", "map"])
def test_workspace_unknown_key_is_one_line(tmp_path, command):
    """An unknown key used to print 'invalid workspace:' and then one line per problem."""
    text = WORKSPACE.replace("landuse =", "land_use =").replace("water_source =", "water_sources =")
    ws = write(tmp_path / "workspace.toml", text)
    args = ["--recipe", write(tmp_path / "r.toml", RECIPE)] if command == "scorecard" else []
    one_line_error(run(command, "--workspace", ws, *args, "--out", tmp_path / "out"),
                   "workspace.toml: invalid workspace, 2 problems",
                   "unknown key 'land_use' — did you mean landuse?",
                   "layers.water_sources: unknown layer kind 'water_sources' — did you mean water_source?")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["indicators", "--boundary", "{missing}"], ["map", "--boundary", "{missing}"],
                                     ["screen", "{missing}"]])
def test_layer_kind_typo_on_the_command_line_fails_before_reading(tmp_path, command):
    args = [a.format(missing=tmp_path / "missing.gpkg") for a in command]
    proc = run(*args, "--layer", f"eco_redlin={tmp_path / 'x.gpkg'}")
    line = one_line_error(proc, "unknown layer kind 'eco_redlin' — did you mean eco_redline?")
    assert "missing.gpkg" not in line


# --- class maps and transitions -----------------------------------------------------------------------------


def test_landcover_classes_checked_before_any_layer_is_read(tmp_path):
    bad = write(tmp_path / "classes.toml", WORLDCOVER.replace('forest = ["10"]', "forest = [10]")
                .replace("[names]", "[nmes]"))
    ws = missing_boundary_workspace(tmp_path, 'landcover = "lc.tif"\nlandcover_classes = "classes.toml"\n')
    line = one_line_error(run("indicators", "--workspace", ws), "classes.toml: invalid class map",
                          "groups.forest must be a list of code strings", "unknown key 'nmes' — did you mean names?")
    assert "missing.gpkg" not in line
    # the same file given on the command line
    ws = missing_boundary_workspace(tmp_path, 'landcover = "lc.tif"\n')
    one_line_error(run("indicators", "--workspace", ws, "--landcover-classes", bad), "classes.toml: invalid class map")


def test_class_map_wrong_types(tmp_path):
    from redline.analyses.indicators import load_class_map

    bad = write(tmp_path / "cm.toml", 'name = 3\ncode_fields = "DLBM"\ngroups = ["0101"]\n'
                '[[park_service]]\nmin_area_m2 = 5000\nradius = 500\n')
    with pytest.raises(CatalogError) as err:
        load_class_map(bad)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{bad}: invalid class map, ")
    for expected in ("name must be a string, not 3", "code_fields must be a list of field names, not 'DLBM'",
                     "groups must be a table of group = [codes], not ['0101'] (a list)",
                     "park_service[0]: unknown key 'radius' — did you mean radius_m?",
                     "park_service[0] needs numbers min_area_m2 and radius_m"):
        assert expected in text, text


def test_transitions_every_problem_and_class_codes(tmp_path):
    text = (TRANSITIONS.replace('to = ["50"]', 'to = ["500"]').replace('id = "bare_quarry"\n', "")
            .replace('from = ["10"]', 'form = ["10"]'))
    bad = write(tmp_path / "t.toml", text)
    proc = run("monitor", "--before", tmp_path / "a.tif", "--after", tmp_path / "b.tif",
               "--within", f"eco_redline={tmp_path / 'red.gpkg'}", "--transitions", bad)
    line = one_line_error(proc, "t.toml: invalid transitions file",
                          "[[transition]] 1 (built_up): to: unknown class code '500' — did you mean 50?",
                          "[[transition]] 2: 'id' is required",
                          "[[transition]] 3 (forest_to_cropland): 'from' is required",
                          "[[transition]] 3 (forest_to_cropland): unknown key 'form' — did you mean from?")
    assert problems(line) == 4


# --- screening rule sets ------------------------------------------------------------------------------------


def test_rule_set_every_problem_before_the_projects_are_read(tmp_path):
    text = (RULES.replace("buffers_m = [500, 1000, 5000]", 'buffers_m = "500"')
            .replace('kind = "water_source"', 'kind = "water_source"\nzones = ["一级保户区"]')
            .replace('kind = "urban_boundary"', 'kind = "urban_boundry"')
            .replace("min_distance_m = 1000", 'min_distance_m = "1000"')
            .replace('categories = ["heavy_metal", "mining"]', 'categories = ["heavy_metal", "minning"]')
            .replace("[categories]", "[categories]\nquarry = \"采石\""))
    text += '\n[[safety_distanse]]\ncategories = ["mining"]\n'
    rules = write(tmp_path / "rules.toml", text)
    proc = run("screen", tmp_path / "missing.geojson", "--layer", f"eco_redline={tmp_path / 'x.gpkg'}",
               "--rules", rules)
    line = one_line_error(
        proc, "rules.toml: invalid screening rule set",
        "buffers_m must be a list of positive distances in metres, not '500' (a string)",
        "categories.quarry must be [\"中文\", \"English\"], not '采石' (a string)",
        "unknown key 'safety_distanse' — did you mean safety_distance?",
        "[[safety_distance]] 1: kind 'urban_boundry' is not in the layer catalog: unknown kind 'urban_boundry' — "
        "did you mean urban_boundary?",
        "[[safety_distance]] 2: min_distance_m must be a positive number of metres, not '1000' (a string)",
        "[[safety_distance]] 2: unknown categories 'minning' — did you mean mining?",
        "[[safety_distance]] 2: zones: unknown zone '一级保户区' of water_source",
    )
    assert "missing.geojson" not in line and problems(line) == 7


# --- catalog and map theme (loaded wherever the catalog or a map is) ----------------------------------------


def test_catalog_wrong_types_and_unknown_keys_on_one_line(tmp_path):
    from redline.specs.catalog import load_catalog

    for path in (REPO / "layers").glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    text = (tmp_path / "water_source.toml").read_text(encoding="utf-8")
    write(tmp_path / "water_source.toml",
          text.replace('description = "', 'descripton = "').replace("fill_opacity = 0.4", 'fill_opacity = "0.4"')
          .replace('name_en = "Level 1"', "name_en = 1").replace('aliases = ["准保护"]', 'aliasses = ["准保护"]')
          .replace('severity = "restricted"', 'severity = "restrictd"', 1))
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{tmp_path}: invalid layer catalog, 5 problems: "), text
    for expected in ("water_source.toml: unknown key 'descripton' — did you mean description?",
                     "water_source.toml: style.fill_opacity must be a number, not '0.4' (a string)",
                     "water_source.toml: zones[0].name_en must be a string, not 1 (an integer)",
                     "water_source.toml: zones[2]: unknown key 'aliasses' — did you mean aliases?",
                     "water_source.toml: zones[1].severity 'restrictd' is not one of prohibited, conditional, "
                     "restricted, allowed — did you mean restricted?"):
        assert expected in text, text


@pytest.mark.parametrize("change, expected", [
    (lambda t: t.replace("tolerance_m = 5.0", 'tolerance_m = "5"'),
     "simplify.tolerance_m must be a number ≥ 0, not '5' (a string)"),
    (lambda t: t.replace('name = "默认"', 'name = "默认"\nverdicts = "red"').replace("[verdicts]", "[verdict]"),
     "verdicts must be a table of name = colour, not 'red' (a string)"),
    (lambda t: t.replace('crs = "WGS84"', "crs = 84"),
     "basemaps.osm.crs must be WGS84, CGCS2000 or GCJ02, not 84 (an integer)"),
    (lambda t: t.replace("[fonts]", "[font]"), "unknown key 'font' — did you mean fonts?"),
    (lambda t: t.replace("[simplify]", "[simplify]\ntolerance = 5"), "simplify: unknown key 'tolerance' — did you mean"),
    (lambda t: t.replace("max_tiles = 4096", "max_tiles = 10"),
     "tiles.max_tiles must be a whole number ≥ 64, not 10"),
    (lambda t: t.replace("above_features = 20000", 'above_features = "many"'),
     "tiles.above_features must be a whole number ≥ 0, not 'many' (a string)"),
    (lambda t: t.replace("above_vertices = 300000", "above_vertice = 300000"),
     "tiles: unknown key 'above_vertice' — did you mean above_vertices?"),
])
def test_theme_wrong_types_one_line_no_traceback(tmp_path, change, expected):
    from redline.maps.theme import load_theme

    theme = write(tmp_path / "theme.toml", change(THEME))
    with pytest.raises(CatalogError) as err:
        load_theme(theme)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{theme}: invalid map theme")
    assert expected in str(err.value), str(err.value)


# --- the shared helper and the CLI's one line ---------------------------------------------------------------


def test_spec_helper_examples():
    import redline.specs.schema

    assert doctest.testmod(redline.specs.schema).failed == 0


def test_cli_prints_a_multi_line_library_error_on_one_line(monkeypatch, capsys):
    import redline.specs.workspace
    from redline.cli import main

    def bad(path):
        raise CatalogError("first problem\nsecond problem")

    monkeypatch.setattr(redline.specs.workspace, "load_workspace", bad)
    with pytest.raises(SystemExit) as exit_:
        main(["indicators", "--workspace", "w.toml"])
    assert exit_.value.code == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == ["redline: error: first problem; second problem"]


# --- every key of every bundled spec, given a value of each wrong type ---------------------------------------

DELETE = object()
WRONG = [42, 1.5, "x", "", True, [1], {"a": 1}, DELETE]


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}" for k, v in value.items()) + "}"


def _dumps(data: dict) -> str:
    """A TOML document of top-level keys with inline values (tables and arrays of tables inline)."""
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}\n" for k, v in data.items())


def _paths(data, at=()):
    """Key paths of a spec: every key, into tables and the first two tables of an array (six keys of a table)."""
    for key, value in list(data.items())[:6] if at else data.items():
        yield (*at, key)
        if isinstance(value, dict):
            yield from _paths(value, (*at, key))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value[:2]):
                yield from _paths(item, (*at, key, i))


def _with(data, path, value):
    import copy

    out = copy.deepcopy(data)
    node = out
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _loaders(tmp_path):
    from redline.analyses.indicators import load_class_map
    from redline.analyses.landcover import load_raster_classes
    from redline.analyses.monitor import load_transitions
    from redline.analyses.scorecard import load_recipe
    from redline.analyses.screening import load_rules
    from redline.specs.catalog import load_catalog
    from redline.maps.theme import load_theme
    from redline.specs.workspace import load_workspace

    catalog_dir = tmp_path / "layers"
    catalog_dir.mkdir()
    for path in (REPO / "layers").glob("*.toml"):
        shutil.copy(path, catalog_dir / path.name)
    worldcover = load_raster_classes()
    return {
        "workspace.toml": (WORKSPACE, load_workspace),
        "recipe.toml": (RECIPE, load_recipe),
        "rules.toml": (RULES, load_rules),
        "sandiao.toml": ((REPO / "analyses" / "classes" / "sandiao.toml").read_text(encoding="utf-8"), load_class_map),
        "worldcover.toml": (WORLDCOVER, load_raster_classes),
        "transitions.toml": (TRANSITIONS, lambda p: load_transitions(p, classes=worldcover)),
        "theme.toml": (THEME, load_theme),
        "layers/water_source.toml": ((REPO / "layers" / "water_source.toml").read_text(encoding="utf-8"),
                                     lambda p: load_catalog(p.parent)),
    }


def test_every_key_of_every_spec_with_a_wrong_value_gives_one_line_never_a_crash(tmp_path):
    """The class of problem, not the example: no value of any type under any key crashes a loader or prints two
    lines — each gives a CatalogError on one line that names the file (or loads, when the value is valid there)."""
    import tomllib

    failures = []
    for name, (text, load) in _loaders(tmp_path).items():
        original = tomllib.loads(text)
        target = tmp_path / name
        for path in _paths(original):
            for value in WRONG:
                target.write_text(_dumps(_with(original, path, value)), encoding="utf-8")
                try:
                    load(target)
                except CatalogError as exc:
                    message = str(exc)
                    where = str(target.parent if name.startswith("layers/") else target)
                    if "\n" in message or not message.startswith(where):
                        failures.append(f"{name} {path} = {value!r}: {message!r}")
                except Exception as exc:  # noqa: BLE001 - any other exception is the bug this test is for
                    failures.append(f"{name} {path} = {value!r}: {type(exc).__name__}: {exc}")
        target.write_text(text, encoding="utf-8")
    assert not failures, f"{len(failures)} failures, e.g.\n" + "\n".join(failures[:20])
