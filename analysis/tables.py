"""The report's tables: runs, results, costs, UDP, failures and data quality.

Tables show only the context columns that vary between points (the shared context is
named in the caption), and only the metric columns some point has. Rows whose
repetitions did not all converge, or that have a single repetition, are marked, so a
reader does not take their interval (or absence of one) at face value.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Dict, List, Optional, Tuple

from analysis import file_serving, http_response
from analysis import metrics as M
from analysis import units
from analysis.dataset import CONTEXT_PARAMS, Dataset, Point, point_label
from analysis.document import Bullets, Paragraph, Table

_CONTEXT_HEADERS = {"host": "host", "protocol": "proto", "path": "path", "workload": "workload",
                    "workload_options": "workload options", "source": "source", "receiver": "receiver", "path_options": "path options",
                    "rate_bps": "pacing", "page_cache": "page cache", "constraints": "host constraints",
                    "udp": "UDP receiver", "socket_options": "socket options", "siblings": "sibling threads",
                    "streams": "streams", "stream_cpus": "stream CPUs"}


def _context_cells(p: Point, keys: List[str]) -> List[str]:
    ctx = dict(p.context())
    return [ctx.get(k, "") for k in keys]


def _shared_context(ds: Dataset, points: List[Point], keys: List[str]) -> str:
    if not points:
        return ""
    ctx = dict(points[0].context())
    shared = [f"{k}: {ctx[k]}" for k in ["host"] + list(CONTEXT_PARAMS)
              if k not in keys and ctx.get(k)]
    return "All rows: " + "; ".join(shared) + "." if shared else ""


def _row_kind(p: Point) -> str:
    if p.not_converged:
        return "warning"
    return "warning" if len(p.ok_trials) == 1 else ""


def _quality_flag(p: Point) -> str:
    flags = []
    if p.not_converged:
        flags.append(f"not converged ({p.not_converged}/{len(p.ok_trials)})")
    if len(p.ok_trials) == 1:
        flags.append("single repetition")
    if p.failed_trials:
        flags.append(f"{len(p.failed_trials)} failed")
    return "; ".join(flags)


def _median_ci(summary, divisor: float) -> str:
    if summary is None:
        return "–"
    mean = units.sig(summary.median / divisor)
    if not summary.has_ci:
        return f"{mean} (no CI, n={summary.n})"
    return f"{mean} [{units.sig(summary.ci_low / divisor)}, {units.sig(summary.ci_high / divisor)}]"


def _cv(summary) -> str:
    if summary is None or summary.cv is None:
        return "–"
    return units.format_percent(summary.cv, 2)


def runs_table(ds: Dataset) -> Table:
    rows = []
    for run in ds.runs:
        host = next(h for h in ds.hosts if run in h.runs)
        counts = Counter(t.status for t in run.trials if not t.warmup)
        warm = sum(1 for t in run.trials if t.warmup)
        zc = run.manifest.get("zcbench") if isinstance(run.manifest.get("zcbench"), dict) else {}
        version = str(zc.get("version") or "?")
        if zc.get("git_commit"):
            version += f" ({str(zc['git_commit'])[:12]}{', dirty' if zc.get('git_dirty') else ''})"
        rows.append([run.run_id, host.label, run.state or "unknown",
                     str(run.manifest.get("started_at") or "–"),
                     str(run.manifest.get("ended_at") or "–"),
                     str(counts.get("ok", 0)), str(counts.get("error", 0)),
                     str(counts.get("unsupported", 0)), str(warm), version])
    kinds = ["" if r[2] == "complete" else "warning" for r in rows]
    return Table(["run", "host", "state", "started", "ended", "ok", "error", "unsupported",
                  "warm-up", "zcbench"], rows, row_kinds=kinds, numeric=(5, 6, 7, 8),
                 caption="Trial counts exclude warm-up trials, which never enter statistics.")


def results_table(ds: Dataset, confidence: float) -> Optional[Table]:
    points = ds.measured()
    if not points:
        return None
    keys = ds.varying(points)
    goodput, cpu = M.get_metric("goodput_bps"), M.get_metric("cpu.ns_per_kib")
    # What avoiding the copy buys, most directly: the CPU share spent copying.
    copy_share = M.get_metric("data_copy_cpu_share")
    with_copy = ds.has(copy_share, points)
    divisor, rate_unit = units.rate_scale([p.summary(goodput, confidence).median
                                           for p in points if p.summary(goodput, confidence)])
    ci = f"{confidence:.0%} CI"
    columns = [_CONTEXT_HEADERS[k] for k in keys] + [
        "strategy", "message size", "n", f"goodput median ({rate_unit})",
        f"goodput median [{ci}]", "CV", "CPU median (ns/KiB)", f"CPU median [{ci}]", "CV"]
    columns += ["data-copy share of CPU (median)"] if with_copy else []
    columns += ["flags"]
    rows, kinds = [], []
    for p in points:
        g, c = p.summary(goodput, confidence), p.summary(cpu, confidence)
        row = _context_cells(p, keys) + [
            p.series_label, units.format_bytes(p.message_size), str(len(p.ok_trials)),
            units.sig(g.median / divisor) if g else "–", _median_ci(g, divisor), _cv(g),
            units.sig(c.median) if c else "–", _median_ci(c, 1.0), _cv(c)]
        if with_copy:
            cs = p.summary(copy_share, confidence)
            row.append(units.format_percent(cs.median) if cs else "–")
        rows.append(row + [_quality_flag(p)])
        kinds.append(_row_kind(p))
    first = len(keys) + 2
    caption = (f"n: successful repetitions. Intervals are for the median: distribution-free "
               f"order-statistic intervals, none when there are too few repetitions for the "
               f"confidence (6 at 95 %). "
               f"CV: coefficient of variation. "
               + ("Data-copy share: cpu-clock samples of the trial's CPUs spent copying "
                  "payload, of all busy samples (CPU profile). " if with_copy else "")
               + _shared_context(ds, points, keys))
    return Table(columns, rows, caption, kinds,
                 numeric=tuple(range(first, first + 7 + (1 if with_copy else 0))))


_COST_COLUMNS: List[Tuple[str, str]] = [
    ("zerocopy_share", "zero-copy share"),
    ("copies_per_byte", "copies (B/B)"),
    ("copies.send_call.per_payload_byte", "send-call copies (B/B)"),
    ("copies.send_deferred.per_payload_byte", "deferred copies (B/B)"),
    ("copies.receive.per_payload_byte", "receive copies (B/B)"),
    ("receive_copy_bytes_per_byte", "receive copy, skb tracepoint (B/B)"),
    ("memory_traffic_per_byte", "memory traffic (B/B)"),
    ("tlb_flushes_per_gib", "TLB flushes /GiB (trial)"),
    ("tlb_flushes_system_per_gib", "TLB flushes /GiB (system)"),
    ("ipis_per_gib", "IPIs /GiB (trial)"),
    ("tlb_shootdown_calls_per_gib", "TLB shootdown calls /GiB (trial)"),
    ("reschedule_ipis_per_gib", "reschedule IPIs /GiB (trial)"),
    ("ipis_system_per_gib", "IPIs /GiB (system)"),
    ("page_faults_per_gib", "page faults /GiB"),
    ("softirq_share", "softirq share"),
    ("retransmits_per_gib", "retransmits /GiB"),
]


def costs_table(ds: Dataset, confidence: float) -> Optional[Table]:
    points = ds.measured()
    present = [(M.get_metric(n), h) for n, h in _COST_COLUMNS if ds.has(M.get_metric(n), points)]
    if not present:
        return None
    keys = ds.varying(points)
    columns = [_CONTEXT_HEADERS[k] for k in keys] + ["strategy", "message size"]
    columns += [h for _, h in present]
    rows = []
    for p in points:
        cells = _context_cells(p, keys) + [p.series_label, units.format_bytes(p.message_size)]
        for metric, _ in present:
            s = p.summary(metric, confidence)
            if s is None:
                cells.append("–")
                continue
            text = (units.format_percent(s.median) if metric.unit == "fraction"
                    else units.sig(s.median))
            if metric.name == "memory_traffic_per_byte":
                text += f" ({', '.join(p.memory_sources())})"
            cells.append(text)
        rows.append(cells)
    first = len(keys) + 2
    return Table(columns, rows, "Medians over repetitions. Per-byte and per-GiB figures are "
                 "normalised by payload bytes delivered. Memory traffic names its source: a "
                 "hardware counter, or the model when no counter is available. "
                 + _shared_context(ds, points, keys),
                 [_row_kind(p) for p in points], numeric=tuple(range(first, len(columns))))


def udp_table(ds: Dataset, confidence: float) -> Optional[Table]:
    points = [p for p in ds.measured() if p.protocol == "udp"]
    loss = M.get_metric("udp_loss")
    if not ds.has(loss, points):
        return None
    keys = ds.varying(points)
    sent, recv = M.get_metric("udp.sender_rate_bps"), M.get_metric("udp.receiver_rate_bps")
    columns = [_CONTEXT_HEADERS[k] for k in keys] + [
        "strategy", "message size", "n", "datagrams sent", "loss", "duplicated", "reordered",
        "sender rate", "receiver rate"]
    rows = []
    for p in points:
        def med(name: str) -> str:
            s = p.summary(M.get_metric(name), confidence)
            return units.sig(s.median) if s else "–"

        ls, ss, rs = (p.summary(m, confidence) for m in (loss, sent, recv))
        rows.append(_context_cells(p, keys) + [
            p.series_label, units.format_bytes(p.message_size), str(len(p.ok_trials)),
            med("udp.datagrams_sent"), units.format_percent(ls.median) if ls else "–",
            med("udp.duplicated"), med("udp.reordered"),
            units.format_rate(ss.median) if ss else "–",
            units.format_rate(rs.median) if rs else "–"])
    first = len(keys) + 2
    return Table(columns, rows, "Medians over repetitions; loss = lost / sent datagrams. "
                 + _shared_context(ds, points, keys), [_row_kind(p) for p in points],
                 numeric=tuple(range(first, len(columns))))


def _exchange_table(ds: Dataset, confidence: float, points: List[Point], what: str, size_header: str,
                    size_of, per: str) -> Optional[Table]:
    """Rate, latency percentiles and CPU per request of exchange points
    (metrics.request_response), medians over repetitions; `size_of(point)` is the size
    column's value in bytes."""
    if not points:
        return None
    rate = M.get_metric("request_response.transactions_per_s")
    keys = ds.varying(points)
    columns = [_CONTEXT_HEADERS[k] for k in keys] + [
        "strategy", size_header, "n", f"{what}/s", "p50 (us)", "p99 (us)", "p99.9 (us)", f"CPU/{per} (ns)"]
    rows = []
    for p in points:
        def med(extract) -> str:
            values = [v for v in (extract(t.metrics) for t in p.ok_trials) if v is not None]
            return units.sig(statistics.median(values)) if values else "–"

        rows.append(_context_cells(p, keys) + [
            p.series_label, units.format_bytes(size_of(p)), str(len(p.ok_trials)),
            med(rate.extract),
            med(M.get_metric("request_response.latency_us.p50").extract),
            med(M.get_metric("request_response.latency_us.p99").extract),
            med(lambda m: M.lookup(m, "request_response.latency_us.p999")),
            med(M.get_metric("request_response.cpu_ns_per_transaction").extract)])
    first = len(keys) + 2
    return Table(columns, rows, f"Medians over repetitions of each trial's figures: the client's "
                 f"{what} per second, its latency percentiles (CLOCK_MONOTONIC, request written "
                 "to response read, from a histogram within 1/128) and the trial's CPU time per "
                 f"{per}. " + _shared_context(ds, points, keys), [_row_kind(p) for p in points],
                 numeric=tuple(range(first, len(columns))))


def request_response_table(ds: Dataset, confidence: float) -> Optional[Table]:
    """Transactions/s, latency percentiles and CPU per transaction of the request/response
    points whose response is the message size (file_serving's are files: its own table)."""
    rate = M.get_metric("request_response.transactions_per_s")
    points = [p for p in ds.measured() if p.summary(rate, confidence) is not None and not file_serving.serves_files(p)]
    return _exchange_table(ds, confidence, points, "transactions", "response size", lambda p: p.message_size,
                           "transaction")


def http_response_table(ds: Dataset, confidence: float) -> Optional[Table]:
    """Requests/s, latency percentiles and CPU per request of the http_response points, by
    their set's mean body size (the corrupted responses are in the figure)."""
    return _exchange_table(ds, confidence, http_response.points(ds), "requests", "body size", file_serving.file_size,
                           "request")


def file_serving_table(ds: Dataset, confidence: float) -> Optional[Table]:
    """Requests/s, latency percentiles and CPU per request of the file_serving points, by
    their set's mean file size."""
    return _exchange_table(ds, confidence, file_serving.points(ds), "requests", "file size", file_serving.file_size,
                           "request")


def streams_table(ds: Dataset, confidence: float) -> Optional[Table]:
    """The spread across parallel streams (metrics.streams, points of more than one stream):
    aggregate goodput beside the slowest and fastest stream's and Jain's index, medians over
    repetitions, and the stream that was slowest most often."""
    slowest = M.get_metric("streams.goodput_min_bps")
    jain = M.get_metric("streams.fairness_jain")
    points = [p for p in ds.measured() if any(isinstance(t.metrics.get("streams"), dict) for t in p.ok_trials)]
    if not points:
        return None
    keys = ds.varying(points)
    columns = [_CONTEXT_HEADERS[k] for k in keys] + [
        "strategy", "message size", "n", "aggregate goodput", "slowest stream", "fastest stream",
        "Jain's index", "slowest most often"]
    rows = []
    for p in points:
        def med(extract, rate: bool) -> str:
            values = [v for v in (extract(t.metrics) for t in p.ok_trials) if v is not None]
            if not values:
                return "–"
            middle = statistics.median(values)
            return units.format_rate(middle) if rate else units.sig(middle)

        counts = Counter(t.metrics["streams"].get("slowest_stream") for t in p.ok_trials
                         if isinstance(t.metrics.get("streams"), dict))
        counts.pop(None, None)
        most = counts.most_common(1)
        rows.append(_context_cells(p, keys) + [
            p.series_label, units.format_bytes(p.message_size), str(len(p.ok_trials)),
            med(M.get_metric("goodput_bps").extract, True),
            med(slowest.extract, True),
            med(lambda m: M.lookup(m, "streams.goodput_max_bps"), True),
            med(jain.extract, False),
            f"stream {most[0][0]} ({most[0][1]}/{len(p.ok_trials)})" if most else "–"])
    first = len(keys) + 2
    return Table(columns, rows, "Medians over repetitions. Each stream's goodput is its own receiver's "
                 "(its bytes from the window's start to its own last delivery); the aggregate is every "
                 "stream's bytes to the last delivery of any; Jain's index is 1 when the streams are equal "
                 "and 1/N when one had it all. A path whose sink counts every stream together has no "
                 "per-stream goodput (–). " + _shared_context(ds, points, keys),
                 [_row_kind(p) for p in points], numeric=tuple(range(first, len(columns) - 1)))


def failures_table(ds: Dataset) -> Optional[Table]:
    """Every trial that did not produce a measurement, grouped by identical reason."""
    groups: Dict[tuple, List] = {}
    for p in ds.points:
        for t in p.failed_trials:
            groups.setdefault((t.run.run_id, p.host.label, p.key, t.status, t.error or ""),
                              []).append(t)
    if not groups:
        return None
    keys = ds.varying(ds.points)
    by_key = {(p.host.label, p.key): p for p in ds.points}
    rows, kinds = [], []
    for (run_id, host, key, status, error), trials in groups.items():  # in point order
        p = by_key[(host, key)]
        indices = sorted(t.index for t in trials if t.index is not None)
        shown = ", ".join(str(i) for i in indices[:12]) + (" …" if len(indices) > 12 else "")
        rows.append([run_id, status, point_label(p, keys), str(len(trials)), shown,
                     error or "(no reason recorded)"])
        kinds.append("error" if status == "error" else "warning")
    return Table(["run", "status", "point", "trials", "trial indices", "reason"], rows,
                 "Trials with status error or unsupported contribute no values; points with "
                 "no successful repetition are absent from figures and the results table.",
                 kinds, numeric=(3,))


def diagnostics_table(ds: Dataset) -> Optional[Table]:
    diags = ds.diagnostics
    if not diags:
        return None
    return Table(["file", "line", "problem"],
                 [[d.display_file, str(d.line or ""), d.message] for d in diags],
                 "Problems found while reading the input, by file and line; unusable records "
                 "were skipped and everything else was used.", numeric=(1,))


def _reasons(ds: Dataset) -> Counter:
    """Why measurements are missing: probe/counter reasons recorded by the harness."""
    reasons: Counter = Counter()
    for p in ds.measured():
        for t in p.ok_trials:
            # A family that was not requested or cannot run is null with "<family>_reason".
            for family in ("probes", "counters", "memory"):
                why = t.metrics.get(family + "_reason")
                if t.metrics.get(family) is None and isinstance(why, str) and why:
                    reasons[f"{family}: {why}"] += 1
            probes = t.metrics.get("probes")
            if isinstance(probes, dict):
                for k, v in probes.items():
                    if k.endswith("_reason") and isinstance(v, str) and v:
                        reasons[f"probe {k[:-len('_reason')]}: {v}"] += 1
            counters = t.metrics.get("counters")
            if isinstance(counters, dict):
                # One reason per counter the machine lacks ("cycles_reason"), or one for
                # all of them ("reason").
                for k, v in counters.items():
                    if k == "reason" and isinstance(v, str) and v:
                        reasons[f"hardware counters: {v}"] += 1
                    elif k.endswith("_reason") and isinstance(v, str) and v:
                        reasons[f"hardware counter {k[:-len('_reason')]}: {v}"] += 1
            memory = t.metrics.get("memory")
            if isinstance(memory, dict) and memory.get("source") == "unavailable":
                why = memory.get("reason")
                reasons["memory traffic: unavailable"
                        + (f" ({why})" if isinstance(why, str) and why else "")] += 1
    return reasons


def quality_blocks(ds: Dataset) -> List:
    """Everything a reader should know before trusting the numbers."""
    items = []
    for run in ds.runs:
        if run.state and run.state != "complete":
            failure = run.manifest.get("failure")
            why = f" ({failure})" if isinstance(failure, str) and failure else ""
            items.append(f"Run {run.run_id} is {run.state}{why}: some planned trials may be "
                         "missing.")
    keys = ds.varying(ds.points)
    measured = ds.measured()
    bad = [p for p in measured if p.not_converged]
    if bad:
        items.append(f"{len(bad)} point(s) with repetitions that did not converge: "
                     + "; ".join(point_label(p, keys) for p in bad[:20])
                     + (" …" if len(bad) > 20 else ""))
    single = [p for p in measured if len(p.ok_trials) == 1]
    if single:
        items.append(f"{len(single)} point(s) with a single successful repetition (no "
                     "confidence interval): "
                     + "; ".join(point_label(p, keys) for p in single[:20])
                     + (" …" if len(single) > 20 else ""))
    mism = [(p, t) for p in measured for t in p.ok_trials
            if (M.lookup(t.metrics, "integrity.mismatches") or 0) > 0]
    if mism:
        items.append(f"{len(mism)} trial(s) delivered corrupted payload (integrity mismatches), "
                     "e.g. " + "; ".join(f"trial {t.index} {point_label(p, keys)}: "
                                         f"{int(M.lookup(t.metrics, 'integrity.mismatches'))} "
                                         f"mismatches" for p, t in mism[:5]))
    pooled = [p for p in measured if len(p.run_ids) > 1]
    if pooled:
        items.append(f"{len(pooled)} point(s) pool repetitions from several runs of the same "
                     f"host: {', '.join(sorted({r for p in pooled for r in p.run_ids}))}.")
    for reason, count in sorted(_reasons(ds).items()):
        items.append(f"{reason} ({count} trials)")
    out: List = []
    if items:
        out.append(Bullets(items))
    else:
        out.append(Paragraph("No data-quality issues were found."))
    return out
