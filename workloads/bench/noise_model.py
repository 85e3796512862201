#!/usr/bin/python3
"""Fit the repetition noise of real runs: the model the interval-coverage test simulates.

Reads run folders, takes every point with at least --min-repetitions successful
repetitions, divides each repetition's goodput and CPU per KiB by its point's median, and
fits a shifted lognormal to the pooled ratios of each metric (scipy.stats.lognorm, three
parameters). Goodput is skewed to the left (a repetition slowed by another process), CPU
per KiB to the right: a metric whose ratios are skewed left is mirrored around 1 before
the fit, and the model says so with "mirrored": true.

    /usr/bin/python3 workloads/bench/noise_model.py RUN_DIR [RUN_DIR...]

Prints one JSON object per metric: {"metric", "mirrored", "shape", "loc", "scale",
"points", "repetitions", "skew", "cv"} with loc + scale = 1 (the median), the values
tests/analysis/test_interval_coverage.py keeps.
"""

import argparse
import json
import os
import sys

import numpy as np
from scipy import stats as sps

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from analysis.dataset import Dataset  # noqa: E402
from analysis.load import load_run  # noqa: E402
from analysis.metrics import get_metric  # noqa: E402


def ratios(runs, metric, min_repetitions):
    points, out = 0, []
    for point in Dataset.from_runs(runs).points:
        values = point.values(metric)
        if len(values) >= min_repetitions and np.median(values) > 0:
            points += 1
            out.extend(values / np.median(values))
    return points, np.asarray(out)


def fit(metric_name, points, r):
    mirrored = bool(sps.skew(r) < 0)
    data = 2.0 - r if mirrored else r
    shape, loc, scale = sps.lognorm.fit(data)
    # Rescale so that the model's median (loc + scale) is exactly 1.
    median = loc + scale
    return {"metric": metric_name, "mirrored": mirrored, "shape": round(float(shape), 4),
            "loc": round(float(loc / median), 4), "scale": round(float(scale / median), 4),
            "points": points, "repetitions": int(len(r)), "skew": round(float(sps.skew(r)), 3),
            "cv": round(float(np.std(r, ddof=1)), 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--min-repetitions", type=int, default=8)
    args = parser.parse_args()
    runs = [load_run(path) for path in args.runs]
    for name in ("goodput_bps", "cpu.ns_per_kib"):
        points, r = ratios(runs, get_metric(name), args.min_repetitions)
        if len(r) < 20:
            print(f"{name}: only {len(r)} repetitions in points with at least "
                  f"{args.min_repetitions}; run a spec with more", file=sys.stderr)
            return 2
        print(json.dumps(fit(name, points, r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
