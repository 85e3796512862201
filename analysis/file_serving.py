"""File serving (workload ``file_serving``): requests per second against file size, per
strategy, and where ``mmap_write`` or ``write`` stops beating ``sendfile``.

A point's file size is the mean size of its file set (``metrics.file_serving.file_set``:
``total_bytes`` / ``files``; the size itself for ``distribution=fixed``). Points are
grouped by what must not be mixed: host, path, receiver, connection and cache; the
payload source, which differs between strategies, is not part of it (file_serving sends
the files, not the payload).

The crossover of a challenger against ``sendfile`` in a group is found on the ratio of
medians, challenger over sendfile, of requests/s at each size both measured
(:func:`analysis.stats.ratio_of_medians`, with its interval at the report's confidence):
the size where the ratio first falls from above 1 to 1 or below, going up in size,
interpolated on a log2 size axis between the two measured sizes around it. Its interval is
where the interval's bounds cross 1 the same way (the lower bound crosses first). None
when the ratio does not cross inside the sweep: the record then says on which side it
stayed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from analysis import metrics as M
from analysis import stats, units
from analysis.dataset import Dataset, Point

WORKLOAD = "file_serving"
REFERENCE = "sendfile"
CHALLENGERS = ("mmap_write", "write")
RATE = M.get_metric("file_serving.requests_per_s")
CPU_PER_REQUEST = M.get_metric("file_serving.cpu_ns_per_request")


# The workloads whose responses are sized by a file set (metrics.<workload>.file_set).
FILE_SET_WORKLOADS = (WORKLOAD, "http_response")


def serves_files(p: Point) -> bool:
    """Whether the point's responses are files (sized by the set, not the message size)."""
    return p.params.get("workload") in FILE_SET_WORKLOADS


def points(ds: Dataset) -> List[Point]:
    return [p for p in ds.measured() if p.params.get("workload") == WORKLOAD and p.summary(RATE) is not None]


def file_size(p: Point) -> Optional[float]:
    """The mean file size of the point's set, from its first ok trial."""
    for t in p.ok_trials:
        fs = ((t.metrics.get(str(p.params.get("workload"))) or {}).get("file_set")) or {}
        if fs.get("files"):
            return float(fs["total_bytes"]) / float(fs["files"])
    return None


def group_of(p: Point) -> str:
    """The panel a point belongs to (see the module docstring)."""
    options = p.params.get("workload_option_values") or p.params.get("workload_options") or {}
    parts = [p.host.label, str(p.params.get("path") or ""), f"receiver={p.params.get('receiver')}",
             f"connection={options.get('connection', 'persistent')}", f"cache={options.get('cache', 'warm')}"]
    return ", ".join(x for x in parts if x)


def groups(ds: Dataset) -> Dict[str, List[Point]]:
    return groups_by_file_size(points(ds), group_of)


def groups_by_file_size(pts: Sequence[Point], group: Callable[[Point], str]) -> Dict[str, List[Point]]:
    """The points with a file size, by their group (a file-set workload's panels)."""
    out: Dict[str, List[Point]] = {}
    for p in pts:
        if file_size(p) is not None:
            out.setdefault(group(p), []).append(p)
    return out


@dataclass
class Crossover:
    challenger: str
    group: str
    size: Optional[float]  # bytes; None: no crossing inside the sweep
    low: Optional[float]   # the interval of the size (None: beyond the sweep on that side)
    high: Optional[float]
    sizes: List[float]
    ratios: List[stats.RatioEstimate]
    note: str  # what the ratio did, in words

    def describe(self) -> str:
        def fmt(v: Optional[float], beyond: str) -> str:
            return units.format_bytes(v) if v is not None else beyond
        if self.size is None:
            return f"{self.challenger} vs {REFERENCE} ({self.group}): no crossover; {self.note}"
        return (f"{self.challenger} vs {REFERENCE} ({self.group}): stops beating {REFERENCE} near "
                f"{units.format_bytes(self.size)} (interval {fmt(self.low, 'below the smallest size')} to "
                f"{fmt(self.high, 'beyond the largest size')}); {self.note}")


def _crossing(sizes: Sequence[float], values: Sequence[Optional[float]]) -> Optional[float]:
    """The log2-interpolated size where `values` first fall from above 1 to 1 or below."""
    for i in range(len(sizes) - 1):
        a, b = values[i], values[i + 1]
        if a is None or b is None or not (a > 1 >= b):
            continue
        la, lb = math.log2(sizes[i]), math.log2(sizes[i + 1])
        t = (a - 1) / (a - b)
        return 2 ** (la + t * (lb - la))
    return None


def crossovers(ds: Dataset, confidence: float) -> List[Crossover]:
    out: List[Crossover] = []
    for group, pts in groups(ds).items():
        by_strategy: Dict[str, Dict[float, Point]] = {}
        for p in pts:
            by_strategy.setdefault(p.strategy, {})[file_size(p)] = p
        base = by_strategy.get(REFERENCE)
        if not base:
            continue
        for challenger in CHALLENGERS:
            other = by_strategy.get(challenger)
            if not other:
                continue
            sizes = sorted(set(base) & set(other))
            if len(sizes) < 2:
                continue
            ratios = [stats.ratio_of_medians(base[s].values(RATE), other[s].values(RATE), confidence) for s in sizes]
            middle = [r.ratio for r in ratios]
            size = _crossing(sizes, middle)
            low = _crossing(sizes, [r.low for r in ratios])
            high = _crossing(sizes, [r.high for r in ratios])
            shown = ", ".join(f"{units.format_bytes(s)} {r.ratio:.2f}" if r.ratio is not None else
                              f"{units.format_bytes(s)} -" for s, r in zip(sizes, ratios))
            if size is None:
                above = [r is not None and r > 1 for r in middle]
                note = (f"it beats {REFERENCE} at every size measured" if all(above) else
                        f"it beats {REFERENCE} at no size measured" if not any(above) else
                        f"the ratio does not fall through 1 as the size grows")
            else:
                note = "requests/s ratio to sendfile by size"
            out.append(Crossover(challenger, group, size, low, high, sizes, ratios, f"{note} ({shown})"))
    return out
