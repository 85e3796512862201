"""Claims: a pack's questions (claims.toml) answered by its runs.

Each claim names the pack spec that answers it, a measurement over that spec's points,
and a rule that turns the measured value and its interval into a verdict:

* ``supports``: the whole interval lies in the rule's ``supports`` band;
* ``contradicts``: the whole interval lies in one of its ``contradicts`` bands;
* ``inconclusive``: the interval straddles a band edge, there is no interval, or the
  spec, a point or its trials are missing or failed (the reason says which);
* ``not_testable``: a fact of this host, read from the runs' host profile or measured
  in the runs (never assumed), puts the claim out of reach (the reason says which).

Measurements (``[ID.measure] kind``):

* ``value``: the median of ``metric`` at the point ``at``, with the interval of
  ``stats.summarize`` (order statistics of the median);
* ``ratio``: the median of ``metric`` at ``new`` over its median at ``base``, with the
  interval of ``stats.ratio_of_medians`` (the one ``zcbench compare`` uses);
* ``crossover``: over the sizes both ``new`` and ``base`` ran at, the size from
  which ``new`` pays (ratio of ``metric``, oriented so that above 1 is better for ``new``).
  Its interval is (the largest size at which ``new`` is significantly worse, the smallest
  size from which it is significantly better at every larger size]; the estimate
  interpolates, on log sizes, the last crossing of 1 by the point ratios. ``along``
  names the size: ``message_size`` (the default: bytes per send call) or ``file_size``
  (the mean file of a ``file_serving`` point's set, whose message size is a buffer).
"""
from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from analysis import file_serving, stats
from analysis.dataset import Dataset, Point, canonical
from analysis.document import Image, Paragraph, Section, Table
from analysis.figures import FigureFile
from analysis.load import Run, load_run, trials_file
from analysis.metrics import CATALOGUE, Metric, get_metric

CLAIMS_FILE = "claims.toml"
CLAIMS_MARKDOWN = "claims.md"
PACK_FILE = "pack.json"
PACK_SCHEMA = "zcbench.pack/1"
VERDICTS = ("supports", "contradicts", "inconclusive", "not_testable")
KINDS = ("value", "ratio", "crossover")
# What a crossover's size is read from: the axis the claim's points vary along.
SIZE_AXES = {"message_size": lambda p: p.message_size, "file_size": file_serving.file_size}


class ClaimsError(Exception):
    """claims.toml or pack.json cannot be used; the message names the file and key."""


# --------------------------------------------------------------------------- claims.toml


@dataclass
class Condition:
    """A host fact that makes a claim not testable here: ``host`` names a field of the
    runs' host profile, or ``metric`` a metric measured at the point ``at``; the claim is
    not testable when the fact is ``below``/``above`` a bound or ``equals`` a value."""
    reason: str
    host: Optional[str] = None
    metric: Optional[str] = None
    at: Dict[str, Any] = field(default_factory=dict)
    below: Optional[float] = None
    above: Optional[float] = None
    equals: Any = None


@dataclass
class Claim:
    id: str
    statement: str
    literature_value: Any
    literature_unit: str
    literature_source: str
    spec: str
    kind: str
    metric: Metric
    where: Dict[str, Any]
    at: Dict[str, Any]
    base: Dict[str, Any]
    new: Dict[str, Any]
    unit: str
    supports: Tuple[float, float]
    contradicts: List[Tuple[float, float]]  # one band, or several (a value too low or too high)
    not_testable: List[Condition]
    figure: str = ""
    note: str = ""
    along: str = "message_size"  # crossover: the size axis (SIZE_AXES)


def _band(value: Any, where: str) -> Tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not value[0] <= value[1]):
        raise ClaimsError(f"{where}: expected [low, high] with low <= high (inf allowed)")
    return float(value[0]), float(value[1])


def _bands(value: Any, where: str) -> List[Tuple[float, float]]:
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [_band(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return [_band(value, where)]


def _table(d: Mapping[str, Any], key: str, where: str, required: bool = True) -> Dict[str, Any]:
    value = d.get(key, None if required else {})
    if not isinstance(value, dict):
        raise ClaimsError(f"{where}.{key}: expected a table")
    return value


def _text(d: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = d.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ClaimsError(f"{where}.{key}: expected a non-empty string")
    return value


def _condition(d: Any, where: str) -> Condition:
    if not isinstance(d, dict):
        raise ClaimsError(f"{where}: expected a table")
    c = Condition(reason=_text(d, "reason", where), host=d.get("host"), metric=d.get("metric"),
                  at=_table(d, "at", where, required=False), below=d.get("below"),
                  above=d.get("above"), equals=d.get("equals"))
    if (c.host is None) == (c.metric is None):
        raise ClaimsError(f"{where}: give exactly one of host (a host profile field) or metric")
    if sum(x is not None for x in (c.below, c.above, c.equals)) != 1:
        raise ClaimsError(f"{where}: give exactly one of below, above or equals")
    if c.metric is not None:
        c.metric = _metric(c.metric, f"{where}.metric").name
    return c


def _metric(name: Any, where: str) -> Metric:
    # A dotted path reads any recorded field; a bare name must be one of the catalogue.
    if not isinstance(name, str) or not name or ("." not in name and name not in CATALOGUE):
        raise ClaimsError(f"{where}: '{name}' is not a metric (see analysis/metrics.py)")
    return get_metric(name)


def parse_claims(text: str, file: str = CLAIMS_FILE) -> List[Claim]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ClaimsError(f"{file}: {e}") from None
    claims = []
    for cid, d in data.items():
        where = f"{file}: {cid}"
        if not isinstance(d, dict):
            raise ClaimsError(f"{where}: expected a table [{cid}]")
        lit = _table(d, "literature", where)
        measure = _table(d, "measure", where)
        rule = _table(d, "rule", where)
        kind = _text(measure, "kind", f"{where}.measure")
        if kind not in KINDS:
            raise ClaimsError(f"{where}.measure.kind: '{kind}' is not one of {', '.join(KINDS)}")
        claim = Claim(
            id=cid, statement=_text(d, "statement", where),
            literature_value=lit.get("value"), literature_unit=_text(lit, "unit", f"{where}.literature", False),
            literature_source=_text(lit, "source", f"{where}.literature"),
            spec=_text(d, "spec", where), kind=kind,
            metric=_metric(measure.get("metric"), f"{where}.measure.metric"),
            where=_table(measure, "where", f"{where}.measure", required=False),
            at=_table(measure, "at", f"{where}.measure", required=kind == "value"),
            base=_table(measure, "base", f"{where}.measure", required=kind != "value"),
            new=_table(measure, "new", f"{where}.measure", required=kind != "value"),
            unit=_text(measure, "unit", f"{where}.measure", False),
            supports=_band(rule.get("supports"), f"{where}.rule.supports"),
            contradicts=_bands(rule.get("contradicts"), f"{where}.rule.contradicts"),
            not_testable=[_condition(c, f"{where}.not_testable[{i}]")
                          for i, c in enumerate(d.get("not_testable", []))],
            figure=_text(d, "figure", where, False), note=_text(d, "note", where, False),
            along=_text(measure, "along", f"{where}.measure", False) or "message_size")
        if claim.along not in SIZE_AXES:
            raise ClaimsError(f"{where}.measure.along: '{claim.along}' is not one of {', '.join(SIZE_AXES)}")
        if not spec_is_file_name(claim.spec):
            raise ClaimsError(f"{where}.spec: '{claim.spec}' is not a spec file name of the pack (NAME.toml)")
        claims.append(claim)
    if not claims:
        raise ClaimsError(f"{file}: no claim")
    return claims


def spec_is_file_name(name: str) -> bool:
    return name.endswith(".toml") and "/" not in name and name != CLAIMS_FILE


def load_claims(path: str) -> List[Claim]:
    with open(path, "rb") as f:
        return parse_claims(f.read().decode("utf-8"), os.path.basename(path))


# --------------------------------------------------------------------------- the pack


@dataclass
class SpecRuns:
    file: str
    state: str  # the pack's record: pending | running | complete | interrupted | failed
    runs: List[Run]


@dataclass
class Pack:
    path: str
    manifest: Dict[str, Any]
    specs: Dict[str, SpecRuns]
    claims_path: Optional[str]

    @property
    def runs(self) -> List[Run]:
        return [r for s in self.specs.values() for r in s.runs]


def is_pack(path: str) -> bool:
    return os.path.isfile(os.path.join(path, PACK_FILE))


def load_pack(path: str) -> Pack:
    try:
        with open(os.path.join(path, PACK_FILE), "r", encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise ClaimsError(f"{path}: cannot read {PACK_FILE}: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != PACK_SCHEMA or not isinstance(
            manifest.get("specs"), list):
        raise ClaimsError(f"{path}/{PACK_FILE}: not a {PACK_SCHEMA} manifest")
    specs = {}
    for entry in manifest["specs"]:
        run_dir = os.path.join(path, str(entry.get("run_dir", "")))
        runs = [load_run(run_dir)] if os.path.isdir(run_dir) and trials_file(run_dir) else []
        specs[str(entry.get("file"))] = SpecRuns(str(entry.get("file")), str(entry.get("state")), runs)
    claims = os.path.join(path, CLAIMS_FILE)
    return Pack(path, manifest, specs, claims if os.path.isfile(claims) else None)


# --------------------------------------------------------------------------- evaluation


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    reason: str
    value: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    figure: Optional[FigureFile] = None

    @property
    def measured(self) -> str:
        if self.value is None and self.low is None:
            return "-"
        unit = f" {self.claim.unit}" if self.claim.unit else ""
        size = self.claim.kind == "crossover"
        text = _fmt(self.value, size) if self.value is not None else "?"
        if self.low is not None or self.high is not None:
            text += f" [{_fmt(self.low, size)}, {_fmt(self.high, size)}]"
        return text + unit

    @property
    def literature(self) -> str:
        value = self.claim.literature_value
        # A crossover's literature value is a size only when given in bytes (S3 cites a ratio).
        size = self.claim.kind == "crossover" and self.claim.literature_unit == "B"
        text = "-" if value is None else (_fmt(value, size) if isinstance(value, (int, float)) else str(value))
        return f"{text} {self.claim.literature_unit}".strip()


def _fmt(v: Optional[float], size: bool = False) -> str:
    """A value for the table; `size`: a byte count, shown as 4K or 1M when it is one."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "?"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if size and abs(v) >= 1024 and float(v).is_integer() and int(v) % 1024 == 0:
        return f"{int(v) // 1024}K" if int(v) % (1 << 20) else f"{int(v) >> 20}M"
    return f"{v:.0f}" if size else f"{v:.3g}"


def _describe(selector: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in selector.items()) or "(any point)"


def _param(params: Mapping[str, Any], key: str) -> Any:
    """A point's parameter; a dotted key reads inside one (workload_options.size,
    siblings.count)."""
    if key in params:
        return params[key]
    value: Any = params
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches(point: Point, selector: Mapping[str, Any]) -> bool:
    return all(canonical(_param(point.params, k)) == canonical(v) for k, v in selector.items())


class _Missing(Exception):
    """What the runs lack for a claim: the verdict is inconclusive with this reason."""


def _points(ds: Dataset, selector: Mapping[str, Any]) -> List[Point]:
    points = [p for p in ds.points if _matches(p, selector)]
    if not points:
        raise _Missing(f"no point {_describe(selector)} in the spec's runs")
    return points


def _values(points: Sequence[Point], metric: Metric, selector: Mapping[str, Any]) -> np.ndarray:
    """The metric over the points' successful trials, pooled; a failed point says why."""
    values = np.concatenate([p.values(metric) for p in points])
    if len(values) == 0:
        failures = [t for p in points for t in p.failed_trials]
        why = (f": {failures[0].status} ({failures[0].error})" if failures and failures[0].error
               else f": {failures[0].status}" if failures else "")
        raise _Missing(f"point {_describe(selector)} has no successful trial with {metric.name}{why}")
    return values


def _oriented(metric: Metric, est: stats.RatioEstimate) -> Tuple[Optional[float], Optional[float], Optional[float]]:
    """new/base so that above 1 is better for new."""
    if metric.higher_is_better:
        return est.ratio, est.low, est.high
    inv = lambda v: None if v is None or v == 0 else 1.0 / v  # noqa: E731
    return inv(est.ratio), inv(est.high), inv(est.low)


def _measure_value(claim: Claim, ds: Dataset, confidence: float):
    sel = {**claim.where, **claim.at}
    values = _values(_points(ds, sel), claim.metric, sel)
    s = stats.summarize(values, confidence, seed=stats.stable_seed(claim.id))
    return s.median, s.ci_low, s.ci_high, s.ci_reason


def _measure_ratio(claim: Claim, ds: Dataset, confidence: float):
    base_sel, new_sel = {**claim.where, **claim.base}, {**claim.where, **claim.new}
    base = _values(_points(ds, base_sel), claim.metric, base_sel)
    new = _values(_points(ds, new_sel), claim.metric, new_sel)
    est = stats.ratio_of_medians(base, new, confidence, seed=stats.stable_seed(claim.id))
    return est.ratio, est.low, est.high, est.reason


def _measure_crossover(claim: Claim, ds: Dataset, confidence: float):
    base_sel, new_sel = {**claim.where, **claim.base}, {**claim.where, **claim.new}
    size_of = SIZE_AXES[claim.along]
    by_size: Dict[float, Tuple[List[Point], List[Point]]] = {}
    for p in _points(ds, base_sel):
        by_size.setdefault(size_of(p), ([], []))[0].append(p)
    for p in _points(ds, new_sel):
        by_size.setdefault(size_of(p), ([], []))[1].append(p)
    rows = []
    no_interval: Optional[str] = None
    for size in sorted(s for s in by_size if s is not None):
        base_points, new_points = by_size[size]
        if not base_points or not new_points:
            raise _Missing(f"{claim.along} {_fmt(size, True)}: only one of {_describe(base_sel)} and "
                           f"{_describe(new_sel)} ran there")
        base = _values(base_points, claim.metric, {**base_sel, claim.along: size})
        new = _values(new_points, claim.metric, {**new_sel, claim.along: size})
        est = stats.ratio_of_medians(base, new, confidence, seed=stats.stable_seed(claim.id, size))
        no_interval = no_interval or est.reason
        rows.append((size, *_oriented(claim.metric, est)))
    if len(rows) < 2:
        raise _Missing(f"a crossover needs at least two sizes ({claim.along})")
    loses = [s for s, _, _, high in rows if high is not None and high < 1]
    low = float(max(loses)) if loses else 0.0
    high = math.inf
    for size, _, lo, _ in reversed(rows):
        if lo is None or lo <= 1:
            break
        high = float(size)
    estimate = None
    for (s0, r0, _, _), (s1, r1, _, _) in zip(rows, rows[1:]):
        if r0 is not None and r1 is not None and r0 < 1 <= r1:  # the last crossing wins
            t = math.log(1 / r0) / math.log(r1 / r0)
            estimate = math.exp(math.log(s0) + t * (math.log(s1) - math.log(s0)))
    if estimate is None and rows[0][1] is not None and rows[0][1] >= 1 and all(
            r is not None and r >= 1 for _, r, _, _ in rows):
        estimate = float(rows[0][0])  # pays at every size: at or below the smallest
    if all(lo is None for _, _, lo, _ in rows):  # no size has an interval (one repetition each)
        return estimate, None, None, f"no size has one: {no_interval}"
    reason = None if (low > 0 or not math.isinf(high)) else (
        "no size at which the ratio's interval is clear of 1")
    return estimate, low, high, reason


MEASURES = {"value": _measure_value, "ratio": _measure_ratio, "crossover": _measure_crossover}


def _host_fact(runs: Sequence[Run], name: str) -> Any:
    for run in runs:
        value: Any = run.host
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def _holds(fact: Any, c: Condition) -> bool:
    if c.equals is not None:
        return fact == c.equals
    if not isinstance(fact, (int, float)) or isinstance(fact, bool):
        return False
    return fact < c.below if c.below is not None else fact > c.above


def _not_testable(claim: Claim, ds: Dataset, host_runs: Sequence[Run]) -> Optional[str]:
    for c in claim.not_testable:
        if c.host is not None:
            fact = _host_fact(host_runs, c.host)
            what = f"host {c.host} = {json.dumps(fact)}"
        else:
            sel = {**claim.where, **c.at}
            points = [p for p in ds.points if _matches(p, sel)]
            values = np.concatenate([p.values(get_metric(c.metric)) for p in points]) if points else []
            fact = float(np.median(values)) if len(values) else None
            what = f"{c.metric} at {_describe(sel)} = {_fmt(fact)} (median)"
        if fact is not None and _holds(fact, c):
            return f"{c.reason} ({what})"
    return None


def _inside(low: float, high: float, band: Tuple[float, float]) -> bool:
    return band[0] <= low and high <= band[1]


def evaluate(claim: Claim, pack: Pack, confidence: float = 0.95) -> Verdict:
    spec = pack.specs.get(claim.spec)
    if spec is None:
        return Verdict(claim, "inconclusive", f"the pack has no spec {claim.spec}")
    if not spec.runs or not any(r.trials for r in spec.runs):
        return Verdict(claim, "inconclusive", f"spec {claim.spec} did not run (state {spec.state})")
    ds = Dataset.from_runs(spec.runs)
    why_not = _not_testable(claim, ds, spec.runs)
    if why_not:
        return Verdict(claim, "not_testable", why_not)
    try:
        value, low, high, no_ci = MEASURES[claim.kind](claim, ds, confidence)
    except _Missing as e:
        return Verdict(claim, "inconclusive", str(e))
    if low is None or high is None:
        return Verdict(claim, "inconclusive", f"no {confidence:.0%} interval: {no_ci or 'too few repetitions'}",
                       value)
    size = claim.kind == "crossover"
    interval = f"[{_fmt(low, size)}, {_fmt(high, size)}]"
    if _inside(low, high, claim.supports):
        return Verdict(claim, "supports", f"interval {interval} inside the supports band "
                                          f"[{_fmt(claim.supports[0], size)}, {_fmt(claim.supports[1], size)}]",
                       value, low, high)
    for band in claim.contradicts:
        if _inside(low, high, band):
            edges = f"[{_fmt(band[0], size)}, {_fmt(band[1], size)}]"
            return Verdict(claim, "contradicts", f"interval {interval} inside the contradicts band {edges}",
                           value, low, high)
    reason = f"interval {interval} is in neither band"
    if spec.state != "complete":
        reason += f" (the spec's run is {spec.state})"
    return Verdict(claim, "inconclusive", reason, value, low, high)


def evaluate_pack(pack: Pack, claims: Sequence[Claim], confidence: float = 0.95) -> List[Verdict]:
    return [evaluate(c, pack, confidence) for c in claims]


# --------------------------------------------------------------------------- output


def attach_figures(verdicts: Sequence[Verdict], figures: Sequence[FigureFile]) -> None:
    """Each claim's figure: the report's first figure whose name starts with the claim's."""
    for v in verdicts:
        if v.claim.figure:
            v.figure = next((f for f in figures if f.name.startswith(v.claim.figure)), None)


COLUMNS = ["claim", "statement", "literature", "source", "measured (interval)", "verdict", "why", "figure"]


def table_rows(verdicts: Sequence[Verdict]) -> List[List[str]]:
    return [[v.claim.id, v.claim.statement, v.literature, v.claim.literature_source, v.measured,
             v.verdict.replace("_", " "), v.reason, v.figure.png if v.figure else "-"] for v in verdicts]


def claims_section(verdicts: Sequence[Verdict], confidence: float) -> Section:
    counts = {k: sum(v.verdict == k for v in verdicts) for k in VERDICTS}
    summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    blocks: List[Any] = [
        Paragraph(f"{len(verdicts)} claims: {summary}. Each measured value is a median (or a ratio of "
                  f"medians) with its {confidence:.0%} interval; the verdict is supports or contradicts "
                  "only when the whole interval lies in the claim's band (claims.toml), not testable when "
                  "a fact of this host recorded in the runs rules the claim out, and inconclusive "
                  "otherwise, with the reason."),
        Table(COLUMNS, table_rows(verdicts), caption="The pack's claims (claims.md holds the same table)",
              row_kinds=["warning" if v.verdict == "inconclusive" else "" for v in verdicts])]
    shown = []
    for v in verdicts:
        if v.figure is not None and v.figure.name not in shown:
            shown.append(v.figure.name)
            blocks.append(Image(v.figure))
    return Section("Claims", "claims", blocks)


def claims_markdown(verdicts: Sequence[Verdict], confidence: float) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")
    lines = [f"| {' | '.join(COLUMNS)} |", "|" + "---|" * len(COLUMNS)]
    for row, v in zip(table_rows(verdicts), verdicts):
        if v.figure is not None:
            row[-1] = f"[{v.figure.name}]({v.figure.png})"
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return ("# Claims\n\nMeasured values are medians or ratios of medians with their "
            f"{confidence:.0%} intervals; verdicts follow each claim's rule in claims.toml.\n\n"
            + "\n".join(lines) + "\n")


def unresolved(verdicts: Sequence[Verdict]) -> List[Verdict]:
    """The claims without a verdict: inconclusive ones (the gate of --fail-on-inconclusive)."""
    return [v for v in verdicts if v.verdict == "inconclusive"]
