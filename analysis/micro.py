"""Map versus copy: the Google Benchmark JSON of ``workloads/micro`` and where the lines cross.

``workloads/micro/map_vs_copy_benchmark.cc`` times, per size from 4 KiB to 4 MiB, with and
without a sibling thread spinning on another CPU: ``mmap`` + ``munmap`` of a page-cache
file (untouched, and touching one byte per page), ``pread`` of the same bytes into a
buffer, and ``memcpy`` from a cache-resident and from a DRAM-resident source.
``workloads/micro/run_map_vs_copy.py --out RUN_DIR`` keeps its JSON as
``RUN_DIR/micro/map_vs_copy.json``; this module reads it (every repetition, not Google
Benchmark's aggregates) and answers the seed's question: from which size on does mapping
and unmapping a file, touching its pages as a server that writes from the mapping does,
cost no more than copying it?

The crossover against a reference (``pread``, ``memcpy`` from DRAM) is the smallest
measured size from which on, up to the largest, the median time of map+touch+unmap is at
most the reference's; ``None`` when it is above at the largest size ("no crossover in
4 KiB..4 MiB"). It is given for the median over repetitions and for each repetition alone
(the k-th repetition of both benchmarks), whose range is the spread. Two clocks: Google
Benchmark's wall time per iteration (``real_time``), and the benchmark thread's CPU time
per iteration (``cpu_time``), which on a busy machine leaves out the time the pinned thread
waited for its CPU. TLB shootdowns per iteration come from the /proc/interrupts "TLB" row
(all CPUs: a lower bound in a VM); minor faults from ``getrusage(RUSAGE_THREAD)``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from analysis import units

FILE_IN_RUN = os.path.join("micro", "map_vs_copy.json")

# Google Benchmark family -> what it times, in the order the figure's legend lists them.
PRIMITIVES: Dict[str, str] = {
    "BM_MmapMunmap": "mmap+munmap, untouched",
    "BM_MmapTouchMunmap": "mmap+touch+munmap",
    "BM_Pread": "pread",
    "BM_MemcpyFromCache": "memcpy from cache",
    "BM_MemcpyFromDram": "memcpy from DRAM",
}
MAPPED = "BM_MmapTouchMunmap"
REFERENCES = ("BM_Pread", "BM_MemcpyFromDram")
CLOCKS: Dict[str, str] = {
    "real": "wall time per operation (Google Benchmark real_time)",
    "cpu": "benchmark thread's CPU time per operation (Google Benchmark cpu_time)",
}
SIBLINGS: Dict[int, str] = {0: "no sibling", 1: "spinning sibling"}
_TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
_NAME = re.compile(r"^(?P<family>\w+)/bytes:(?P<bytes>\d+)/siblings:(?P<siblings>\d+)(/real_time)?$")
_TLB_ABSENT = "not counted"  # in the label zcb_micro gives when /proc/interrupts has no TLB row


class MicroError(Exception):
    """The file is not the map-versus-copy JSON of zcb_micro; the message says why."""


@dataclass(frozen=True)
class Sample:
    """One repetition of one benchmark: per-operation times in nanoseconds."""

    family: str
    size: int
    siblings: int
    repetition: int
    ns: Dict[str, float]  # clock -> ns per operation
    tlb_shootdowns: Optional[float]  # None when /proc/interrupts had no TLB row
    minor_faults: Optional[float]


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float


@dataclass
class Crossover:
    reference: str
    siblings: int
    clock: str
    size: Optional[int]  # from the medians; None: map+unmap costs more up to the largest size
    per_repetition: List[Optional[int]]
    ratios: Dict[int, Spread]  # size -> map/reference, median of the ratios and their range

    def describe(self, sizes: Sequence[int]) -> str:
        span = f"{units.format_bytes(min(sizes))}..{units.format_bytes(max(sizes))}"
        head = (f"no crossover in {span}: mmap+touch+munmap costs more than "
                f"{PRIMITIVES[self.reference]} at every size" if self.size is None else
                f"from {units.format_bytes(self.size)} on, mmap+touch+munmap costs no more "
                f"than {PRIMITIVES[self.reference]}")
        found = sorted(s for s in self.per_repetition if s is not None)
        none = len(self.per_repetition) - len(found)
        parts = []
        if found:
            low, high = units.format_bytes(found[0]), units.format_bytes(found[-1])
            parts.append(f"{low}" if low == high else f"{low}..{high}")
        if none:
            parts.append(f"no crossover in {none}")
        return f"{head} (each of {len(self.per_repetition)} repetitions: {', '.join(parts)})"


@dataclass
class MapVsCopy:
    name: str  # for display: "<run folder>/micro/map_vs_copy.json" or the file's name
    context: Dict[str, Any]
    samples: List[Sample]
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # benchmark, its reason

    def sizes(self, family: Optional[str] = None) -> List[int]:
        return sorted({s.size for s in self.samples if family is None or s.family == family})

    def variants(self) -> List[int]:
        return sorted({s.siblings for s in self.samples})

    def repetitions(self) -> int:
        return len({s.repetition for s in self.samples})

    def times(self, family: str, siblings: int, clock: str) -> Dict[int, Dict[int, float]]:
        """size -> repetition -> ns per operation."""
        out: Dict[int, Dict[int, float]] = {}
        for s in self.samples:
            if s.family == family and s.siblings == siblings:
                out.setdefault(s.size, {})[s.repetition] = s.ns[clock]
        return out

    def spread(self, family: str, siblings: int, clock: str) -> Dict[int, Spread]:
        return {size: _spread(list(reps.values()))
                for size, reps in sorted(self.times(family, siblings, clock).items())}

    def counter(self, family: str, siblings: int, name: str) -> Dict[int, Optional[float]]:
        """size -> median over repetitions of a per-iteration counter (None: not counted)."""
        values: Dict[int, List[float]] = {}
        for s in self.samples:
            if s.family == family and s.siblings == siblings:
                value = getattr(s, name)
                values.setdefault(s.size, [])
                if value is not None:
                    values[s.size].append(value)
        return {k: (statistics.median(v) if v else None) for k, v in sorted(values.items())}

    def tlb_counted(self) -> bool:
        return any(s.tlb_shootdowns is not None for s in self.samples)

    def crossovers(self) -> List[Crossover]:
        out = []
        for clock in CLOCKS:
            for siblings in self.variants():
                mapped = self.times(MAPPED, siblings, clock)
                for reference in REFERENCES:
                    copied = self.times(reference, siblings, clock)
                    if mapped and copied:
                        out.append(crossover(mapped, copied, reference, siblings, clock))
        return out


def _spread(values: List[float]) -> Spread:
    return Spread(statistics.median(values), min(values), max(values))


def find_crossover(mapped: Dict[int, float], reference: Dict[int, float]) -> Optional[int]:
    """The smallest size from which on, up to the largest size both have, ``mapped`` is at
    most ``reference``; None when it is above at the largest."""
    found = None
    for size in sorted(set(mapped) & set(reference), reverse=True):
        if mapped[size] > reference[size]:
            break
        found = size
    return found


def crossover(mapped: Dict[int, Dict[int, float]], copied: Dict[int, Dict[int, float]],
              reference: str, siblings: int, clock: str) -> Crossover:
    """Both arguments: size -> repetition -> ns per operation."""
    sizes = sorted(set(mapped) & set(copied))
    medians = find_crossover({s: statistics.median(mapped[s].values()) for s in sizes},
                             {s: statistics.median(copied[s].values()) for s in sizes})
    repetitions = sorted({r for s in sizes for r in mapped[s]} & {r for s in sizes for r in copied[s]})
    per_repetition = []
    for r in repetitions:
        both = [s for s in sizes if r in mapped[s] and r in copied[s]]
        per_repetition.append(find_crossover({s: mapped[s][r] for s in both},
                                             {s: copied[s][r] for s in both}))
    ratios = {}
    for s in sizes:
        paired = [mapped[s][r] / copied[s][r] for r in mapped[s] if r in copied[s] and copied[s][r] > 0]
        if paired:
            ratios[s] = _spread(paired)
    return Crossover(reference, siblings, clock, medians, per_repetition, ratios)


def _number(entry: Dict[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise MicroError(f"{where}: '{key}' is missing or not a number")
    return float(value)


def parse(document: Any, name: str) -> MapVsCopy:
    """The map-versus-copy benchmarks of a Google Benchmark JSON document."""
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise MicroError(f"{name}: not Google Benchmark JSON (no 'benchmarks' list); write it "
                         "with --benchmark_out=FILE --benchmark_out_format=json")
    context = document.get("context") if isinstance(document.get("context"), dict) else {}
    samples, skipped = [], []
    for i, entry in enumerate(document["benchmarks"]):
        if not isinstance(entry, dict) or entry.get("run_type", "iteration") != "iteration":
            continue  # Google Benchmark's own mean/median/stddev: recomputed from repetitions
        match = _NAME.match(str(entry.get("run_name", entry.get("name", ""))))
        if not match or match["family"] not in PRIMITIVES:
            continue  # another benchmark of zcb_micro
        where = f"{name}: benchmarks[{i}] ({entry.get('name')})"
        if entry.get("error_occurred"):
            skipped.append((str(entry.get("name")), str(entry.get("error_message", "no reason given"))))
            continue
        scale = _TIME_UNITS.get(str(entry.get("time_unit", "ns")))
        if scale is None:
            raise MicroError(f"{where}: unknown time_unit {entry.get('time_unit')!r}")
        tlb_counted = _TLB_ABSENT not in str(entry.get("label", ""))
        tlb = entry.get("tlb_shootdowns_per_iter")
        faults = entry.get("minor_faults_per_iter")
        samples.append(Sample(
            family=match["family"], size=int(match["bytes"]), siblings=int(match["siblings"]),
            repetition=int(entry.get("repetition_index", 0)),
            ns={"real": _number(entry, "real_time", where) * scale,
                "cpu": _number(entry, "cpu_time", where) * scale},
            tlb_shootdowns=float(tlb) if tlb_counted and isinstance(tlb, (int, float)) else None,
            minor_faults=float(faults) if isinstance(faults, (int, float)) else None))
    if not samples:
        detail = f"; skipped: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise MicroError(f"{name}: no map-versus-copy benchmark results (BM_MmapTouchMunmap, "
                         f"BM_Pread, ...){detail}")
    return MapVsCopy(name, context, samples, skipped)


def load(path: str, name: Optional[str] = None) -> MapVsCopy:
    """A JSON file, or a run folder holding ``micro/map_vs_copy.json``."""
    file_path = os.path.join(path, FILE_IN_RUN) if os.path.isdir(path) else path
    display = name or (os.path.join(os.path.basename(os.path.normpath(path)), FILE_IN_RUN)
                       if os.path.isdir(path) else os.path.basename(path))
    try:
        with open(file_path, encoding="utf-8") as f:
            document = json.load(f)
    except FileNotFoundError:
        raise MicroError(f"{path}: no {FILE_IN_RUN} here; write one with "
                         "workloads/micro/run_map_vs_copy.py --out RUN_DIR") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MicroError(f"{display}: cannot read it: {e}") from None
    return parse(document, display)


def in_run(run_path: str) -> Optional[str]:
    """The map-versus-copy JSON of a run folder, if it has one."""
    path = os.path.join(run_path, FILE_IN_RUN)
    return path if os.path.isfile(path) else None


def _format_ns(ns: float) -> str:
    for unit, scale in (("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def summary_lines(result: MapVsCopy) -> List[str]:
    """One sentence per clock, sibling variant and reference."""
    sizes = result.sizes(MAPPED)
    lines = []
    for c in result.crossovers():
        lines.append(f"{CLOCKS[c.clock].split(' (')[0]}, {SIBLINGS.get(c.siblings, c.siblings)}: "
                     + c.describe(sizes))
    return lines


def format_text(result: MapVsCopy) -> str:
    ctx = result.context
    fs = ctx.get("map_vs_copy_file_system", "unknown")
    out = [f"{result.name}: map versus copy, {result.repetitions()} repetition(s), a "
           f"{fs} page-cache file, host {ctx.get('host_name', 'unknown')}, "
           f"{ctx.get('num_cpus', '?')} CPUs"]
    out += summary_lines(result)
    for name, reason in result.skipped:
        out.append(f"skipped: {name}: {reason}")
    families = [f for f in PRIMITIVES if result.times(f, 0, "real") or result.times(f, 1, "real")]
    for siblings in result.variants():
        for clock in CLOCKS:
            out.append("")
            out.append(f"{SIBLINGS.get(siblings, siblings)}, {CLOCKS[clock]}; median "
                       "(min..max) over repetitions")
            header = ["size"] + [PRIMITIVES[f] for f in families] + [
                f"map/{PRIMITIVES[r]}" for r in REFERENCES]
            rows = [header]
            spreads = {f: result.spread(f, siblings, clock) for f in families}
            ratios = {c.reference: c.ratios for c in result.crossovers()
                      if c.siblings == siblings and c.clock == clock}
            for size in result.sizes():
                row = [units.format_bytes(size)]
                for f in families:
                    s = spreads[f].get(size)
                    row.append(f"{_format_ns(s.median)} ({_format_ns(s.low)}..{_format_ns(s.high)})"
                               if s else "")
                for r in REFERENCES:
                    s = ratios.get(r, {}).get(size)
                    row.append(f"{s.median:.2f} ({s.low:.2f}..{s.high:.2f})" if s else "")
                rows.append(row)
            widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
            out += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    counters = (("tlb_shootdowns", "TLB shootdowns per iteration (/proc/interrupts, all CPUs, "
                                   "a lower bound in a VM)"),
                ("minor_faults", "minor page faults per iteration (getrusage, the benchmark thread)"))
    for counter, what in counters:
        if counter == "tlb_shootdowns" and not result.tlb_counted():
            out += ["", f"{what}: not counted, /proc/interrupts has no TLB row on that machine"]
            continue
        out += ["", f"{what}, {PRIMITIVES[MAPPED]}, median over repetitions:"]
        for siblings in result.variants():
            counts = result.counter(MAPPED, siblings, counter)
            out.append(f"  {SIBLINGS.get(siblings, siblings)}: " + ", ".join(
                f"{units.format_bytes(k)} {v:.2f}" for k, v in counts.items() if v is not None))
    return "\n".join(out) + "\n"
