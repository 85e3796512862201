"""Statistical comparison of two runs, point by point, with verdicts that gate CI.

For every point present in both runs and every requested metric, the ratio of
medians new/base gets an interval at the requested confidence
(:func:`analysis.stats.ratio_of_medians`, Mann-Whitney by default). The verdict
reads the *whole interval* against the threshold t, in the metric's own direction:

=================  ==========================================  ======================
verdict            higher is better (goodput)                  lower is better (cost)
=================  ==========================================  ======================
regressed          upper bound < 1 - t                         lower bound > 1 + t
improved           lower bound > 1 + t                         upper bound < 1 - t
unchanged          anything else with an interval
not enough data    no interval (one repetition, too few for the confidence,
                   no successful trials, metric missing)
=================  ==========================================  ======================

Why the whole interval, not just the point estimate beyond the threshold: the gate
should fail only when the data show, at the stated confidence, a change larger than
the tolerated one. Then a change of exactly t is flagged at most (1 - confidence)/2
of the time, and a same-distribution (A/A) pair is flagged less often than that;
with threshold 0 the rule is the plain two-sided test, whose A/A false-positive rate
per point is at most 1 - confidence. "Unchanged" therefore means "not shown to
have changed beyond the threshold"; the note says when the interval is too wide to
rule a change out, or when a change is significant but within the threshold.

The rates are per point: with many points some A/A flags are expected at threshold 0
(no multiple-comparison correction is applied; a threshold of a few percent is
what keeps the gate quiet on noise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from analysis import COMPARE_SCHEMA
from analysis.dataset import Dataset, Point, point_label
from analysis.load import Run
from analysis.metrics import Metric
from analysis.stats import RatioEstimate, ratio_of_medians, stable_seed

VERDICTS = ("regressed", "improved", "unchanged", "not enough data")


@dataclass
class Row:
    point: str
    label: str
    strategy: str
    params: Dict[str, Any]
    metric: str
    higher_is_better: bool
    median_base: Optional[float]
    median_new: Optional[float]
    estimate: RatioEstimate
    verdict: str
    note: str

    @property
    def change(self) -> Optional[float]:
        r = self.estimate.ratio
        return None if r is None else r - 1.0


@dataclass
class Comparison:
    base: Run
    new: Run
    metrics: List[Metric]
    threshold: float
    confidence: float
    method: str
    rows: List[Row] = field(default_factory=list)
    only_in_base: List[str] = field(default_factory=list)
    only_in_new: List[str] = field(default_factory=list)
    missing_metrics: List[str] = field(default_factory=list)

    @property
    def regressions(self) -> List[Row]:
        return [r for r in self.rows if r.verdict == "regressed"]

    @property
    def exit_status(self) -> int:
        return 1 if self.regressions else 0

    def counts(self) -> Dict[str, int]:
        return {v: sum(1 for r in self.rows if r.verdict == v) for v in VERDICTS}


def judge(est: RatioEstimate, higher_is_better: bool, threshold: float) -> Tuple[str, str]:
    """Verdict and explanatory note for one interval (see the module docstring)."""
    if not est.has_ci:
        return "not enough data", est.reason or "no interval"
    low, high = est.low, est.high
    worse_low, better_high = 1.0 - threshold, 1.0 + threshold
    if higher_is_better:
        regressed, improved = high < worse_low, low > better_high
    else:
        regressed, improved = low > better_high, high < worse_low
    if regressed:
        return "regressed", ""
    if improved:
        return "improved", ""
    if low > 1.0 or high < 1.0:
        return "unchanged", "changed significantly, but not beyond the threshold"
    if low < worse_low and high > better_high:
        return "unchanged", "interval wider than the threshold on both sides: inconclusive"
    if low < worse_low or high > better_high:
        return "unchanged", "interval reaches beyond the threshold: a change cannot be ruled out"
    return "unchanged", ""


def _failure_note(side: str, point: Point) -> str:
    failed = point.failed_trials
    if not failed:
        return f"no successful repetitions in {side}"
    reasons = sorted({f"{t.status}: {t.error}" if t.error else t.status for t in failed})
    return f"no successful repetitions in {side} ({len(failed)} failed; {'; '.join(reasons)})"


def compare_runs(base: Run, new: Run, metrics: List[Metric], threshold: float = 0.05,
                 confidence: float = 0.95, method: str = "mann-whitney") -> Comparison:
    result = Comparison(base, new, metrics, threshold, confidence, method)
    base_points = {p.key: p for p in Dataset.from_runs([base]).points}
    new_points = {p.key: p for p in Dataset.from_runs([new]).points}
    everything = Dataset([base, new], [], list(base_points.values()) + list(new_points.values()))
    # Host differs between base and new by design; label points by their parameters.
    keys = [k for k in everything.facet_keys(everything.points) if k != "host"]

    def label(p: Point) -> str:
        return point_label(p, keys)

    result.only_in_base = [label(p) for k, p in base_points.items() if k not in new_points]
    result.only_in_new = [label(p) for k, p in new_points.items() if k not in base_points]
    common = [k for k in base_points if k in new_points]
    for metric in metrics:
        if not any(len(base_points[k].values(metric)) or len(new_points[k].values(metric))
                   for k in common):
            result.missing_metrics.append(metric.name)
    for key in common:
        b, n = base_points[key], new_points[key]
        for metric in metrics:
            if metric.name in result.missing_metrics:
                continue
            bv, nv = b.values(metric), n.values(metric)
            seed = stable_seed(key, metric.name)
            est = ratio_of_medians(bv, nv, confidence, method, seed)
            verdict, note = judge(est, metric.higher_is_better, threshold)
            if not b.ok_trials:
                note = _failure_note("base", b)
            elif not n.ok_trials:
                note = _failure_note("new", n)
            elif not len(bv) or not len(nv):
                note = f"{metric.name} not recorded in {'base' if not len(bv) else 'new'}"
            partial = [f"{len(p.failed_trials)} failed repetition(s) in {side}"
                       for side, p in (("base", b), ("new", n)) if p.ok_trials and p.failed_trials]
            if partial:
                note = "; ".join(x for x in [note] + partial if x)
            flags = [side for side, p in (("base", b), ("new", n)) if p.not_converged]
            if flags:
                converge = f"did not converge in {' and '.join(flags)}"
                note = "; ".join(x for x in (note, converge) if x)
            result.rows.append(Row(
                key, label(b), b.strategy, b.params, metric.name, metric.higher_is_better,
                _median(bv), _median(nv),
                est, verdict, note))
    return result


def _median(values) -> Optional[float]:
    return float(np.median(values)) if len(values) else None


# --------------------------------------------------------------------------- output


def _fmt_ratio(v: Optional[float]) -> str:
    return "–" if v is None else f"{v:.3f}"


def describe_method(c: Comparison) -> str:
    name = {"mann-whitney": "Mann-Whitney (Hodges-Lehmann) interval",
            "bootstrap": "bootstrap percentile interval"}.get(c.method, c.method)
    return (f"{name} of the ratio of medians new/base at {c.confidence:.0%} confidence; "
            f"regression = whole interval beyond {c.threshold:.1%} in the bad direction")


def table_rows(c: Comparison) -> Tuple[List[str], List[List[str]]]:
    metric_of = {m.name: m for m in c.metrics}
    ci = f"{c.confidence:.0%} CI"
    columns = ["point", "metric", "n base/new", "base median", "new median", "new/base", ci,
               "verdict", "note"]
    rows = []
    for r in c.rows:
        m = metric_of[r.metric]
        e = r.estimate
        interval = f"[{e.low:.3f}, {e.high:.3f}]" if e.has_ci else "–"
        rows.append([r.label, r.metric, f"{e.n_base}/{e.n_new}", m.format(r.median_base),
                     m.format(r.median_new), _fmt_ratio(e.ratio), interval, r.verdict, r.note])
    return columns, rows


def format_text(c: Comparison) -> str:
    columns, rows = table_rows(c)
    out = [f"zcbench compare: base {c.base.run_id} vs new {c.new.run_id}",
           f"method: {describe_method(c)}", ""]
    if rows:
        shown = [r[:-1] for r in rows]  # the note goes below its row, it is long
        widths = [max(len(x) for x in col) for col in zip(columns[:-1], *shown)]
        out.append("  ".join(h.ljust(w) for h, w in zip(columns, widths)).rstrip())
        out.append("  ".join("-" * w for w in widths))
        for full, row in zip(rows, shown):
            out.append("  ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip())
            if full[-1]:
                out.append("    note: " + full[-1])
    else:
        out.append("No point is present in both runs.")
    out.append("")
    counts = c.counts()
    out.append("summary: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS))
    for metric in c.missing_metrics:
        out.append(f"metric {metric}: recorded in neither run; not compared")
    for title, items in (("only in base", c.only_in_base), ("only in new", c.only_in_new)):
        if items:
            out.append(f"{title} ({len(items)}):")
            out += [f"  {x}" for x in items]
    if c.regressions:
        out.append(f"RESULT: REGRESSION ({len(c.regressions)} point/metric pair(s) regressed "
                   f"beyond {c.threshold:.1%} at {c.confidence:.0%} confidence)")
    else:
        out.append("RESULT: OK (no regression beyond the threshold)")
    return "\n".join(out) + "\n"


def to_json(c: Comparison) -> Dict[str, Any]:
    def run_info(run: Run) -> Dict[str, Any]:
        return {"run_id": run.run_id, "host": run.host.get("hostname"),
                "kernel_release": run.host.get("kernel_release")}

    rows = []
    for r in c.rows:
        e = r.estimate
        rows.append({
            "point": r.point, "label": r.label, "strategy": r.strategy, "params": r.params,
            "metric": r.metric, "higher_is_better": r.higher_is_better,
            "n_base": e.n_base, "n_new": e.n_new,
            "median_base": r.median_base, "median_new": r.median_new,
            "ratio": e.ratio, "ci_low": e.low, "ci_high": e.high,
            "achieved_confidence": e.achieved_confidence, "p_value": e.p_value,
            "verdict": r.verdict, "note": r.note or None,
        })
    return {
        "schema": COMPARE_SCHEMA,
        "base": run_info(c.base), "new": run_info(c.new),
        "method": c.method, "confidence": c.confidence, "threshold": c.threshold,
        "metrics": [{"name": m.name, "unit": m.unit, "higher_is_better": m.higher_is_better}
                    for m in c.metrics],
        "missing_metrics": c.missing_metrics,
        "summary": c.counts(),
        "rows": rows,
        "only_in_base": c.only_in_base, "only_in_new": c.only_in_new,
        "exit_status": c.exit_status,
    }


def dumps(c: Comparison) -> str:
    return json.dumps(to_json(c), indent=2, sort_keys=False) + "\n"
