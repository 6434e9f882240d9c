"""Project siting screening (选址合规性分析): overlaps, distances, buffer rings and verdicts by rule.

For every project footprint and every layer kind given: the ellipsoidal area
it occupies (m², 公顷, 亩) and its share of the footprint, the zones hit, the
nearest distance when there is no overlap, what lies within buffer rings
around it, and what the catalog rule says for the project's category. The
verdict of a project is its most severe finding
(``prohibited`` > ``conditional`` > ``restricted`` > ``clear``).

Method: an STRtree query gives the (footprint, feature) candidate pairs, one
vectorised ``shapely.intersection`` cuts the pieces, pieces are unioned per
project × zone (overlapping features count once) and measured on the CGCS2000
ellipsoid. Distances: nearest feature and nearest points in a Gauss-Krüger
CRS near the data, then the geodesic distance between those points on GRS80.

The room: :mod:`.coordinator` (:func:`screen`, the steps in order), :mod:`.inputs` (what is checked before any
overlay), :mod:`.verdicts` (rule → severity per hit, safety distances), :mod:`.distances`, :mod:`.rings`,
:mod:`.messages` (from the catalog ``text/screening.toml``), :mod:`.assemble` and :mod:`.result`. The rule set
is a spec: :mod:`redline.specs.rules`. :func:`screen` takes GeoDataFrames; :func:`redline.screen`
(:mod:`redline.engines`) takes paths as well.
"""

from ...specs.rules import RULES_SCHEMA, RuleSet, SafetyRule, load_rules
from .coordinator import screen
from .inputs import ScreenedProjects, check_layer, check_request, project_footprints
from .messages import SEVERITY_LABELS
from .result import VERDICTS, ScreeningResult

__all__ = [
    "SafetyRule",
    "RuleSet",
    "RULES_SCHEMA",
    "ScreeningResult",
    "ScreenedProjects",
    "check_layer",
    "check_request",
    "load_rules",
    "project_footprints",
    "screen",
    "VERDICTS",
    "SEVERITY_LABELS",
]
