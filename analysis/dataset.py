"""Trials grouped into measurement points, across runs and hosts.

A *point* is one combination of parameters, measured over several repetitions; the
harness gives it a stable ``point`` key. Runs from different machines are told apart
by their host profile (hostname, CPU, kernel, size), not by run: two runs of the same
spec on the same unchanged host are more repetitions of the same points, and are
pooled. A kernel upgrade changes the profile, so before/after runs stay apart.

Warm-up trials never enter statistics; trials with status ``error`` or
``unsupported`` are kept on the point so that reports can list them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from analysis import stats
from analysis.units import format_bytes
from analysis.load import Diagnostic, Run, Trial
from analysis import units
from analysis.metrics import Metric

# Parameters that set the scene of a figure panel; strategy and options make the
# series inside a panel, and message_size is the x axis.
CONTEXT_PARAMS = ("protocol", "path", "workload", "workload_options", "source", "receiver", "path_options", "rate_bps",
                  "page_cache", "constraints", "udp", "socket_options", "siblings", "streams",
                  "stream_cpus")

_PROFILE_FIELDS = ("hostname", "cpu_model", "cores", "numa_nodes", "memory_bytes",
                   "kernel_release", "virtualization")


def canonical(value: Any) -> str:
    """Stable text for dicts (options), used in keys and labels."""
    if isinstance(value, dict):
        return ",".join(f"{k}={canonical(value[k])}" for k in sorted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _context_value(key: str, value: Any) -> str:
    """A context parameter as a panel title shows it (a pacing rate as "1 Gbit/s")."""
    if key == "rate_bps":
        return "unpaced" if not value else units.format_rate(float(value))
    if key == "socket_options" and isinstance(value, dict):
        # The options as asked ("nodelay=true,sndbuf=1048576"); what the kernel applied
        # is in each record (params.socket_options.KEY.applied).
        return canonical({k: v.get("asked") if isinstance(v, dict) else v for k, v in value.items()})
    if key == "udp":
        return "UDP_GRO" if isinstance(value, dict) and value.get("gro") else ""
    if key == "siblings":
        # "" without siblings (and in records older than the axis), else "1 spin".
        count = sibling_count(value)
        return f"{count} {value.get('mode', '')}".strip() if count else ""
    if key == "streams":
        # Parallel streams: a one-stream record has no params.streams (and shows nothing).
        return str(value) if isinstance(value, int) and value > 1 else ""
    if key == "constraints" and isinstance(value, dict):
        # Only the constraints that were set ("sender_cpu_quota=0.2").
        value = {k: v for k, v in value.items() if v not in (None, "", [], {}, 0)}
        return ",".join(f"{k}={canonical(v) if not isinstance(v, list) else '+'.join(map(str, v))}"
                        for k, v in sorted(value.items()))
    return canonical(value)


def sibling_count(siblings: Any) -> int:
    """params.siblings.count; 0 for a record without siblings (or older than the axis)."""
    count = siblings.get("count") if isinstance(siblings, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


@dataclass
class Host:
    key: str
    label: str
    profile: Dict[str, Any]
    runs: List[Run] = field(default_factory=list)


@dataclass
class Point:
    host: Host
    key: str
    params: Dict[str, Any]
    trials: List[Trial] = field(default_factory=list)  # non-warm-up, any status
    warmups: int = 0
    _summaries: Dict[Tuple[str, float], Optional[stats.Summary]] = field(
        default_factory=dict, repr=False)

    # Identity -----------------------------------------------------------------
    @property
    def strategy(self) -> str:
        return str(self.params.get("strategy"))

    @property
    def options(self) -> str:
        return canonical(self.params.get("options") or {})

    @property
    def series(self) -> Tuple[str, str]:
        """A line in a figure: one strategy with one set of options."""
        return self.strategy, self.options

    @property
    def peer(self) -> Optional[str]:
        """A peer's label ("iperf3 -Z (peer)") when a peer tool ran instead of a strategy."""
        peer = self.params.get("peer")
        return peer if isinstance(peer, str) and peer else None

    @property
    def series_label(self) -> str:
        # A peer is its own series, named as the tool is run ("iperf3 -Z (peer)").
        if self.peer:
            return self.peer
        return self.strategy + (f" [{self.options}]" if self.options else "")

    @property
    def message_size(self) -> Optional[int]:
        return self.params.get("message_size")

    @property
    def protocol(self) -> str:
        return str(self.params.get("protocol") or "")

    def context(self, include_host: bool = True) -> Tuple[Tuple[str, str], ...]:
        items = [("host", self.host.label)] if include_host else []
        items += [(k, _context_value(k, self.params.get(k))) for k in CONTEXT_PARAMS]
        return tuple(items)

    @property
    def run_ids(self) -> List[str]:
        return sorted({t.run.run_id for t in self.trials})

    # Data ---------------------------------------------------------------------
    @property
    def ok_trials(self) -> List[Trial]:
        return [t for t in self.trials if t.status == "ok"]

    @property
    def failed_trials(self) -> List[Trial]:
        return [t for t in self.trials if t.status != "ok"]

    @property
    def not_converged(self) -> int:
        """Repetitions the harness reported as not converged (null means not judged)."""
        return sum(1 for t in self.ok_trials if t.converged is False)

    def values(self, metric: Metric) -> np.ndarray:
        vals = [metric.extract(t.metrics) for t in self.ok_trials]
        return np.asarray([v for v in vals if v is not None], dtype=float)

    def summary(self, metric: Metric, confidence: float = 0.95) -> Optional[stats.Summary]:
        key = (metric.name, confidence)
        if key not in self._summaries:
            seed = stats.stable_seed(self.host.key, self.key, metric.name)
            self._summaries[key] = stats.summarize(self.values(metric), confidence, seed,
                                                   metric.bounds)
        return self._summaries[key]

    def memory_sources(self) -> List[str]:
        sources = set()
        for t in self.ok_trials:
            memory = t.metrics.get("memory")
            if isinstance(memory, dict) and isinstance(memory.get("source"), str):
                sources.add(memory["source"])
        return sorted(sources)


def point_label(point: Point, keys: Iterable[str] = ()) -> str:
    """``"sendfile 64 KiB · veth"``: strategy, size, then the given context values."""
    parts = [point.series_label]
    if point.message_size is not None:
        parts[0] += " " + format_bytes(point.message_size)
    ctx = dict(point.context())
    for k in keys:
        value = ctx.get(k, "")
        if value:
            parts.append(f"{k}={value}" if k in ("receiver", "path_options", "workload_options", "source", "socket_options",
                                                 "stream_cpus")
                         else value)
    return " · ".join(parts)


def host_identity(run: Run) -> Tuple[str, Dict[str, Any]]:
    host = run.host
    profile = {k: host.get(k) for k in _PROFILE_FIELDS}
    if not any(v is not None for v in profile.values()):
        # No host profile at all: nothing says two such runs share a machine.
        profile = {"hostname": None, "run": run.run_id}
    digest = hashlib.sha256(json.dumps(profile, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:12], profile


def _label_hosts(hosts: List[Host]) -> None:
    """Hostname, made unique with the kernel release, then a counter, only if needed."""
    def base(h: Host) -> str:
        return str(h.profile.get("hostname") or f"unknown host ({h.runs[0].name})")

    names: Dict[str, List[Host]] = {}
    for h in hosts:
        names.setdefault(base(h), []).append(h)
    for name, group in names.items():
        if len(group) == 1:
            group[0].label = name
            continue
        for h in group:
            h.label = f"{name} ({h.profile.get('kernel_release') or 'kernel ?'})"
        labels: Dict[str, List[Host]] = {}
        for h in group:
            labels.setdefault(h.label, []).append(h)
        for same in labels.values():
            if len(same) > 1:
                for i, h in enumerate(same, start=1):
                    h.label = f"{h.label} #{i}"


@dataclass
class Dataset:
    runs: List[Run]
    hosts: List[Host]
    points: List[Point]

    @classmethod
    def from_runs(cls, runs: Iterable[Run]) -> "Dataset":
        runs = list(runs)
        hosts: Dict[str, Host] = {}
        points: Dict[Tuple[str, str], Point] = {}
        for run in runs:
            key, profile = host_identity(run)
            host = hosts.setdefault(key, Host(key, "", profile))
            host.runs.append(run)
            for trial in run.trials:
                point = points.get((key, trial.point))
                if point is None:
                    point = points[(key, trial.point)] = Point(host, trial.point, trial.params)
                if trial.warmup:
                    point.warmups += 1
                else:
                    point.trials.append(trial)
        host_list = list(hosts.values())
        _label_hosts(host_list)
        ordered = sorted(points.values(), key=lambda p: (
            p.host.label, p.context(False), p.strategy, p.options, p.message_size or 0, p.key))
        return cls(runs, host_list, ordered)

    @property
    def diagnostics(self) -> List[Diagnostic]:
        return [d for run in self.runs for d in run.diagnostics]

    @property
    def strategies(self) -> List[str]:
        return sorted({p.strategy for p in self.points})

    def measured(self) -> List[Point]:
        """Points with at least one successful repetition."""
        return [p for p in self.points if p.ok_trials]

    def varying(self, points: Optional[List[Point]] = None) -> List[str]:
        """Context keys (host first) whose value differs between points."""
        points = self.measured() if points is None else points
        keys = ["host"] + list(CONTEXT_PARAMS)
        out = []
        for i, k in enumerate(keys):
            if len({p.context()[i][1] for p in points}) > 1:
                out.append(k)
        return out

    def facet_keys(self, points: Optional[List[Point]] = None) -> List[str]:
        """Context keys that must split figure panels.

        A key splits panels when some series (strategy + options) was measured with
        several of its values: then the values are different experiments. A key that
        varies only *between* strategies (the payload source is "file" for sendfile and
        "memory" for write) describes the strategy, and splitting on it would put every
        strategy in a panel of its own. Hosts are always kept apart.
        """
        points = self.measured() if points is None else points
        keys = ["host"] + list(CONTEXT_PARAMS)
        contexts = [dict(p.context()) for p in points]
        out: List[str] = []
        for k in keys:
            if len({c[k] for c in contexts}) < 2:
                continue
            # Within the panels chosen so far, does one series have several values?
            per_group: Dict[tuple, set] = {}
            for p, c in zip(points, contexts):
                group = (p.series,) + tuple(c[o] for o in out)
                per_group.setdefault(group, set()).add(c[k])
            if k == "host" or any(len(v) > 1 for v in per_group.values()):
                out.append(k)
        return out

    def has(self, metric: Metric, points: Optional[List[Point]] = None) -> bool:
        points = self.measured() if points is None else points
        return any(len(p.values(metric)) for p in points)
