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
regressed          also: ok in base, every repetition failed or unsupported in new
not enough data    no interval (one repetition, too few for the confidence,
                   no successful trials in base, metric missing in one run)
source differs     the metric comes from different sources in the two runs (memory
                   traffic from a counter versus the model; CPU time by different
                   methods): the numbers are not comparable, so none is judged
=================  ==========================================  ======================

The gate's exit status (:attr:`Comparison.exit_status`) is 0 only when every compared
point-metric was judged and none regressed, 1 on a regression, and 3 when the gate
could not judge: a point-metric "not enough data" or "source differs", no point in
common, or a requested metric recorded in neither run. ``allow_partial`` accepts what
could be judged (exit 0 when something was judged and nothing regressed); the
verdict then says it is partial. Points only in one run are listed, not judged: a
spec that grew or lost points is the user's decision, not a measurement.

Why the whole interval, not just the point estimate beyond the threshold: the gate
should fail only when the data show, at the stated confidence, a change larger than
the tolerated one. Then a change of exactly t is flagged at most (1 - confidence)/2
of the time, and a same-distribution (A/A) pair is flagged less often than that;
with threshold 0 the rule is the plain two-sided test, whose A/A false-positive rate
per point is at most 1 - confidence. "Unchanged" therefore means "not shown to
have changed beyond the threshold"; the note says when the interval is too wide to
rule a change out, or when a change is significant but within the threshold.

A gate against a committed baseline needs both sides measured on the same host class:
the same hardware as the host profile records it (:data:`HOST_CLASS_FIELDS`; memory in
whole GiB, so that a runner reporting a few MiB less is the same class). The hostname
and the kernel are not part of the class: a change under test may be the kernel, and CI
runners of one type have different names. Runs of different classes are not judged
(exit 3, naming the fields) unless ``allow_other_host_class`` is given; then the
comparison runs and its result says the classes differ.

The rates are per point: with many points some A/A flags are expected at threshold 0
(no multiple-comparison correction is applied; a threshold of a few percent is
what keeps the gate quiet on noise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from analysis import COMPARE_SCHEMA
from analysis.dataset import Dataset, Point, point_label
from analysis.load import Run, Trial
from analysis.metrics import Metric
from analysis.stats import RatioEstimate, ratio_of_medians, stable_seed

VERDICTS = ("regressed", "improved", "unchanged", "not enough data", "source differs")
JUDGED = ("regressed", "improved", "unchanged")
EXIT_OK, EXIT_REGRESSION, EXIT_CANNOT_JUDGE = 0, 1, 3

# CPU time of zcbench.trial/1 records, which did not name their method, came from
# /proc/stat ticks.
TRIAL_SCHEMA_V1 = "zcbench.trial/1"
CPU_METHOD_OF_TRIAL_V1 = "proc_stat"
_MEMORY_METRICS = ("memory_traffic_per_byte",)
_CPU_METRICS = ("softirq_share",)


def metric_source(metric_name: str, trial: Trial) -> Optional[str]:
    """Where a trial's figure for the metric comes from, when that can differ by run.

    Memory traffic is counted (resctrl, uncore counters) or modelled; CPU time is read
    from /proc/stat ticks or per-thread clocks. Two runs whose figures come from
    different sources do not measure the same thing. None: the metric has a single
    source (goodput is bytes over a clock).
    """
    if metric_name in _MEMORY_METRICS or metric_name.startswith("memory."):
        memory = trial.metrics.get("memory")
        source = memory.get("source") if isinstance(memory, dict) else None
        return f"memory source {source}" if isinstance(source, str) else None
    if metric_name in _CPU_METRICS or metric_name.startswith("cpu."):
        cpu = trial.metrics.get("cpu")
        if not isinstance(cpu, dict):
            return None
        # The system-wide figures are /proc/stat in every schema version.
        if metric_name.startswith("cpu.system_wide.") or metric_name in ("cpu.busy_s", "softirq_share"):
            return f"CPU method {CPU_METHOD_OF_TRIAL_V1}"
        method = cpu.get("method", cpu.get("source"))
        if not isinstance(method, str):
            schema = trial.raw.get("schema")
            method = CPU_METHOD_OF_TRIAL_V1 if schema in (None, TRIAL_SCHEMA_V1) else "unnamed"
        return f"CPU method {method}"
    return None


# The host profile fields that make a host class (see the module docstring).
HOST_CLASS_FIELDS = ("cpu_model", "cores", "numa_nodes", "memory_gib", "virtualization")


def host_class(run: Run) -> Dict[str, Any]:
    host = run.host
    fields = {k: host.get(k) for k in HOST_CLASS_FIELDS if k != "memory_gib"}
    memory = host.get("memory_bytes")
    fields["memory_gib"] = round(memory / (1 << 30)) if isinstance(memory, (int, float)) else None
    return fields


def host_class_differences(base: Run, new: Run) -> List[str]:
    """The class fields recorded on both sides with different values, as text. A field
    missing on one side is not a difference: old records may not have it."""
    b, n = host_class(base), host_class(new)

    def known(field_name: str, value: Any) -> bool:
        # virtualization null is "none seen", a value; any other null was not recorded.
        return value is not None or field_name == "virtualization"

    show = lambda v: "none" if v is None else str(v)  # noqa: E731
    return [f"{k}: {show(b[k])} in base, {show(n[k])} in new" for k in HOST_CLASS_FIELDS
            if b[k] != n[k] and known(k, b[k]) and known(k, n[k])]


def _sources(point: Point, metric: Metric) -> List[str]:
    return sorted({s for t in point.ok_trials
                   if metric.extract(t.metrics) is not None
                   for s in [metric_source(metric.name, t)] if s is not None})


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
    allow_partial: bool = False
    allow_other_host_class: bool = False
    host_class_differences: List[str] = field(default_factory=list)
    pooled: Tuple[int, int] = (1, 1)  # runs pooled into base and into new
    rows: List[Row] = field(default_factory=list)
    only_in_base: List[str] = field(default_factory=list)
    only_in_new: List[str] = field(default_factory=list)
    missing_metrics: List[str] = field(default_factory=list)

    @property
    def regressions(self) -> List[Row]:
        return [r for r in self.rows if r.verdict == "regressed"]

    @property
    def judged(self) -> List[Row]:
        return [r for r in self.rows if r.verdict in JUDGED]

    @property
    def unjudged(self) -> List[Row]:
        return [r for r in self.rows if r.verdict not in JUDGED]

    def cannot_judge(self) -> List[str]:
        """Why the gate could not give a whole verdict; empty when it could."""
        why = []
        if self.host_class_differences and not self.allow_other_host_class:
            why.append("base and new ran on different host classes ("
                       + "; ".join(self.host_class_differences) + "): a baseline must come from "
                       "the same hardware (--allow-other-host-class to compare anyway)")
        if not self.rows and not self.missing_metrics:  # then no point is in common
            why.append("no point is present in both runs")
        why += [f"metric {m} is recorded in neither run" for m in self.missing_metrics]
        why += [f"{r.label} {r.metric}: {r.verdict}: {r.note}" for r in self.unjudged]
        return why

    @property
    def partial(self) -> bool:
        return bool(self.cannot_judge())

    @property
    def exit_status(self) -> int:
        if self.host_class_differences and not self.allow_other_host_class:
            return EXIT_CANNOT_JUDGE
        if self.regressions:
            return EXIT_REGRESSION
        if not self.judged or (self.partial and not self.allow_partial):
            return EXIT_CANNOT_JUDGE
        return EXIT_OK

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


def _failed_in_new(base: Point, new: Point) -> Optional[str]:
    """The note of a point that worked in base and not at all in new (a regression)."""
    if base.ok_trials and not new.ok_trials and new.failed_trials:
        return "ok in base, " + _failure_note("new", new)
    return None


def _pooled_points(side: str, runs: Sequence[Run]) -> Dict[str, Point]:
    """Points of one side; repetitions of several runs of one host are pooled."""
    dataset = Dataset.from_runs(runs)
    if len(dataset.hosts) > 1:
        raise ValueError(f"the {side} runs ({', '.join(r.run_id for r in runs)}) come from "
                         f"{len(dataset.hosts)} different hosts; pool only runs of one host")
    return {p.key: p for p in dataset.points}


def compare_runs(base: Run, new: Run, metrics: List[Metric], threshold: float = 0.05,
                 confidence: float = 0.95, method: str = "mann-whitney",
                 allow_partial: bool = False, base_more: Sequence[Run] = (),
                 new_more: Sequence[Run] = (), allow_other_host_class: bool = False) -> Comparison:
    """``base_more``/``new_more``: further runs pooled into each side. Runs of base and new
    alternated in time (base, new, base, new...) share the machine's drift, which a
    single run of each, one after the other, would read as a change."""
    result = Comparison(base, new, metrics, threshold, confidence, method, allow_partial)
    result.pooled = (1 + len(base_more), 1 + len(new_more))
    result.allow_other_host_class = allow_other_host_class
    result.host_class_differences = host_class_differences(base, new)
    base_points = _pooled_points("base", [base, *base_more])
    new_points = _pooled_points("new", [new, *new_more])
    everything = Dataset([base, new], [], list(base_points.values()) + list(new_points.values()))
    # Host differs between base and new by design; label points by their parameters.
    keys = [k for k in everything.facet_keys(everything.points) if k != "host"]

    def label(p: Point) -> str:
        return point_label(p, keys)

    result.only_in_base = [label(p) for k, p in base_points.items() if k not in new_points]
    result.only_in_new = [label(p) for k, p in new_points.items() if k not in base_points]
    common = [k for k in base_points if k in new_points]
    for metric in metrics if common else []:
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
            base_sources, new_sources = _sources(b, metric), _sources(n, metric)
            failed_in_new = _failed_in_new(b, n)
            if failed_in_new:
                verdict, note = "regressed", failed_in_new
            elif not b.ok_trials:
                note = _failure_note("base", b)
            elif not n.ok_trials:
                note = _failure_note("new", n)
            elif not len(bv) or not len(nv):
                note = f"{metric.name} not recorded in {'base' if not len(bv) else 'new'}"
            elif base_sources != new_sources:
                verdict = "source differs"
                note = (f"not comparable: {' and '.join(base_sources) or 'no source'} in base, "
                        f"{' and '.join(new_sources) or 'no source'} in new")
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
    pooled = "" if c.pooled == (1, 1) else \
        f" ({c.pooled[0]} and {c.pooled[1]} runs pooled, repetitions of each point combined)"
    out = [f"zcbench compare: base {c.base.run_id} vs new {c.new.run_id}{pooled}",
           f"method: {describe_method(c)}", ""]
    if c.host_class_differences and c.allow_other_host_class:
        out += ["warning: base and new ran on different host classes ("
                + "; ".join(c.host_class_differences) + "): the ratios mix the change with the hardware", ""]
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
    for title, items in (("only in base", c.only_in_base), ("only in new", c.only_in_new)):
        if items:
            out.append(f"{title} ({len(items)}, not compared):")
            out += [f"  {x}" for x in items]
    problems = c.cannot_judge()
    if problems:
        out.append(f"could not judge ({len(problems)}):")
        out += [f"  {x}" for x in problems]
    out.append(result_line(c))
    return "\n".join(out) + "\n"


def result_line(c: Comparison) -> str:
    """The last line of the text output, matching the exit status."""
    judged = f"{len(c.judged)} of {len(c.rows)} point/metric pair(s) judged"
    if c.regressions:
        return (f"RESULT: REGRESSION ({len(c.regressions)} point/metric pair(s) regressed "
                f"beyond {c.threshold:.1%} at {c.confidence:.0%} confidence; {judged})")
    if c.exit_status == EXIT_CANNOT_JUDGE:
        hint = ("; a baseline of another host class" if c.host_class_differences and not c.allow_other_host_class
                else "" if not c.judged else "; --allow-partial accepts what was judged")
        return f"RESULT: CANNOT JUDGE ({judged}{hint})"
    if c.partial:
        return f"RESULT: PARTIAL OK (no regression among what was judged: {judged})"
    return f"RESULT: OK (no regression beyond the threshold; {judged})"


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
        "allow_partial": c.allow_partial, "cannot_judge": c.cannot_judge(),
        "host_class": {"fields": list(HOST_CLASS_FIELDS), "same": not c.host_class_differences,
                       "differences": c.host_class_differences, "allowed": c.allow_other_host_class},
        "runs_pooled": {"base": c.pooled[0], "new": c.pooled[1]},
        "exit_status": c.exit_status,
    }


def dumps(c: Comparison) -> str:
    return json.dumps(to_json(c), indent=2, sort_keys=False) + "\n"
