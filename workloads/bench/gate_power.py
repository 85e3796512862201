#!/usr/bin/python3
"""What slowdown does the regression gate detect on this machine, at its default settings?

Runs workloads/experiments/gate.toml as A and A' (nothing changed in between) and, with
--hog, as HOG while a CPU hog runs on the sender's CPU (the gate spec pins the sender to
CPU 0; the hog is a busy loop pinned there too, started and killed by pid here, which
takes about half of that CPU). The runs alternate in --chunks rounds (A, A', HOG, A, A',
HOG, ...) and each side's chunks are pooled by `zcbench compare --base-run/--new-run`, so
that all sides see the same drift of a shared machine. It reports:

* the real verdicts: `zcbench compare A A'` (must not flag a regression) and, with --hog,
  `zcbench compare A HOG` (must flag one), with the measured goodput ratios;
* the detection rate of injected slowdowns on this machine's real noise: for each point,
  the repetitions of A and A' are pooled and split at random into two halves of the
  size of a side (a permutation: both halves are drawn from the same real noise), the
  second half scaled by (1 - slowdown), and judged by the gate's own test (Mann-Whitney
  interval of the ratio of medians at the default confidence and threshold), --resamples
  times; the split without a slowdown gives the A/A false-alarm rate.

    sudo /usr/bin/python3 workloads/bench/gate_power.py --zcbench build/harness/zcbench --hog

Root: the gate spec pins threads, and the probes need it. Loopback only.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, REPO)

from analysis import compare as cmp  # noqa: E402
from analysis.cli import DEFAULT_METRICS  # noqa: E402
from analysis.dataset import Dataset  # noqa: E402
from analysis.load import load_run  # noqa: E402
from analysis.metrics import get_metric  # noqa: E402
from analysis.stats import ratio_of_medians  # noqa: E402

GATE_SPEC = os.path.join(REPO, "workloads", "experiments", "gate.toml")
SENDER_CPU = 0  # gate.toml: pin = true puts the sender on CPU 0
DEFAULT_THRESHOLD, DEFAULT_CONFIDENCE = 0.05, 0.95


@contextlib.contextmanager
def cpu_hog(cpu):
    """A busy-loop process pinned to `cpu` for the duration of the block, killed by pid."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(hog.pid, {cpu})
        time.sleep(0.2)  # let it start spinning before the first trial
        yield hog.pid
    finally:
        os.kill(hog.pid, signal.SIGKILL)
        hog.wait(timeout=10)


def run_spec(zcbench, spec, out, timeout=900):
    proc = subprocess.run([zcbench, "run", spec, "--out", out], capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"zcbench run {spec} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return out


def alternate_runs(zcbench, spec, out, chunks, sides=("a", "a2"), hog_side=None):
    """Runs of each side in alternation, `chunks` rounds: {side: [run dirs]}.

    `hog_side`, if given, is an extra side run with a CPU hog on the sender's CPU.
    """
    runs = {side: [] for side in (*sides, *([hog_side] if hog_side else []))}
    for i in range(chunks):
        for side in runs:
            target = os.path.join(out, f"{side}-{i + 1}")
            if side == hog_side:
                with cpu_hog(SENDER_CPU):
                    runs[side].append(run_spec(zcbench, spec, target))
            else:
                runs[side].append(run_spec(zcbench, spec, target))
    return runs


def compare(zcbench, base_runs, new_runs, *extra, timeout=300):
    """zcbench compare of two sides, each a list of run folders pooled together."""
    env = dict(os.environ, ZCBENCH_SOURCE_DIR=REPO)
    more = [arg for d in base_runs[1:] for arg in ("--base-run", d)]
    more += [arg for d in new_runs[1:] for arg in ("--new-run", d)]
    return subprocess.run([zcbench, "compare", base_runs[0], new_runs[0], *more, *extra],
                          capture_output=True, text=True, env=env, timeout=timeout)


def goodput_by_point(run_dirs):
    metric = get_metric("goodput_bps")
    return {p.key: (p.series_label, p.values(metric))
            for p in Dataset.from_runs([load_run(d) for d in run_dirs]).points}


def detection_rate(base, new, slowdown, resamples, rng):
    """Share of random base/new splits of the pooled repetitions that the gate flags as a
    goodput regression when the new half is slowed by `slowdown`."""
    metric = get_metric("goodput_bps")
    pool, half = np.concatenate([base, new]), len(base)
    flagged = 0
    for _ in range(resamples):
        shuffled = rng.permutation(pool)
        b, n = shuffled[:half], shuffled[half:] * (1.0 - slowdown)
        est = ratio_of_medians(b, n, DEFAULT_CONFIDENCE)
        flagged += cmp.judge(est, metric.higher_is_better, DEFAULT_THRESHOLD)[0] == "regressed"
    return flagged / resamples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zcbench", default=os.path.join(REPO, "build", "harness", "zcbench"))
    parser.add_argument("--spec", default=GATE_SPEC)
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--hog", action="store_true", help="also run under a CPU hog")
    parser.add_argument("--chunks", type=int, default=2,
                        help="rounds of alternating runs per side (default 2)")
    parser.add_argument("--slowdowns", default="0,5,10,15,20,30,50",
                        help="injected goodput drops in percent")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--analyse", metavar="DIR", help="analyse the runs an earlier "
                        "invocation left in DIR (--out) instead of running new ones")
    args = parser.parse_args()
    out = args.analyse or args.out or tempfile.mkdtemp(prefix="zcb-gate-power-")
    started = time.monotonic()
    if args.analyse:
        runs = {}
        for name in sorted(os.listdir(out)):
            side, _, _ = name.rpartition("-")
            runs.setdefault(side, []).append(os.path.join(out, name))
    else:
        runs = alternate_runs(args.zcbench, args.spec, out, args.chunks,
                              hog_side="hog" if args.hog else None)
    elapsed = time.monotonic() - started
    print(f"{sum(len(r) for r in runs.values())} runs in {elapsed:.0f} s "
          f"({elapsed / sum(len(r) for r in runs.values()):.0f} s per run) in {out}; "
          f"metrics {DEFAULT_METRICS}, threshold {DEFAULT_THRESHOLD:.0%}, "
          f"confidence {DEFAULT_CONFIDENCE:.0%}")
    base = goodput_by_point(runs["a"])
    for name in [side for side in runs if side != "a"]:
        verdict = compare(args.zcbench, runs["a"], runs[name])
        print(f"\nzcbench compare A {name}: exit {verdict.returncode}")
        print(verdict.stdout)
        for key, (label, values) in goodput_by_point(runs[name]).items():
            ratio = np.median(values) / np.median(base[key][1])
            print(f"  {label}: goodput median {name}/A = {ratio:.3f}")
    rng = np.random.default_rng(20241207)
    other = goodput_by_point(runs["a2"])
    slowdowns = [float(s) / 100 for s in args.slowdowns.split(",")]
    print("\ndetection rate of an injected goodput drop on this machine's noise "
          f"({args.resamples} random splits of A and A' per point, "
          f"{len(next(iter(base.values()))[1])} repetitions a side; 0% = A/A false alarms):")
    print("| point | cv A | " + " | ".join(f"{s:.0%}" for s in slowdowns) + " |")
    print("|---|---|" + "---|" * len(slowdowns))
    for key, (label, values) in base.items():
        cv = np.std(values, ddof=1) / np.mean(values)
        rates = [detection_rate(values, other[key][1], s, args.resamples, rng) for s in slowdowns]
        print(f"| {label} | {cv:.1%} | " + " | ".join(f"{r:.2f}" for r in rates) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
