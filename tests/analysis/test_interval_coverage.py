"""Coverage of the report's intervals on the noise this project's runs show.

A confidence interval is honest when it contains the true value at least as often as it
says. Repetitions of a benchmark on a small shared VM are skewed (a repetition slowed by
another process), and the harness stops repeating a point once its Student-t interval of
the mean is narrow, which selects samples that happen to look tight. Both make intervals
too narrow. This simulation draws repetitions from a shifted-lognormal model fitted to
real runs (``workloads/bench/noise_model.py``), applies each shipped spec's repetition
policy (min, max, confidence, target half-width, the scheduler's stopping rule), and
checks that :func:`analysis.stats.summarize`'s interval covers the true median at least
93 % of the time at a nominal 95 % (and 99 % specs at least 97 %), and that it gives no
interval, rather than a narrow one, when there are too few repetitions.
"""

import math
import pathlib
import tomllib

import numpy as np
import pytest
from scipy import stats as sps

from analysis import stats

REPO = pathlib.Path(__file__).resolve().parents[2]
# Every shipped spec, the packs' included (a pack's claims.toml is not a spec).
SPECS = sorted(p for p in (REPO / "workloads" / "experiments").rglob("*.toml") if p.name != "claims.toml")

# Fitted by `workloads/bench/noise_model.py` to a run of 6 TCP points on loopback (write,
# sendfile, msg_zerocopy at 4 KiB and 64 KiB), 15 repetitions of 300 ms each, on this
# project's 2-vCPU build VM while other builds and tests ran: the skewed noise of a
# shared machine. Ratios to the point's median; loc + scale = 1.
# The fit gave skew 0.70 (goodput) and 1.38 (CPU per KiB), a spread (CV) of 26-29 %.
FITTED = {
    "goodput_bps": {"mirrored": False, "shape": 0.1593, "loc": -0.5923, "scale": 1.5923},
    "cpu.ns_per_kib": {"mirrored": False, "shape": 0.3305, "loc": 0.2101, "scale": 0.7899},
}
# A harsher model than the fitted ones, skewed the other way (slow outliers in goodput),
# so that the conclusion does not hang on one afternoon's load.
HARSH = {"mirrored": True, "shape": 0.8, "loc": 0.8, "scale": 0.2}
REPLICATES = 3000


def draw(model, rng, shape):
    x = model["loc"] + model["scale"] * np.exp(model["shape"] * rng.standard_normal(shape))
    return 2.0 - x if model["mirrored"] else x


def t_relative_half_width(x, confidence):
    """The scheduler's stopping statistic (harness/plan/scheduler.cc), vectorised."""
    n = x.shape[1]
    half = sps.t.ppf(0.5 + confidence / 2, n - 1) * x.std(axis=1, ddof=1) / math.sqrt(n)
    return half / np.abs(x.mean(axis=1))


def stopped_samples(model, policy, rng):
    """Each replicate's repetitions up to where the scheduler would have stopped."""
    low, high, confidence, half_width = policy
    x = draw(model, rng, (REPLICATES, high))
    stop = np.full(REPLICATES, high)
    for n in range(max(low, 2), high):
        narrow = (t_relative_half_width(x[:, :n], confidence) <= half_width) & (stop == high)
        stop[narrow] = n
    return [row[:n] for row, n in zip(x, stop)]


def policy_of(spec_path):
    repeat = tomllib.loads(spec_path.read_text()).get("repeat", {})
    return (repeat.get("min", 3), repeat.get("max", 10), repeat.get("confidence_pct", 95) / 100,
            repeat.get("half_width_pct", 2.5) / 100)


def coverage(model, policy, seed):
    rng = np.random.default_rng(seed)
    covered = judged = 0
    confidence = policy[2]
    for sample in stopped_samples(model, policy, rng):
        s = stats.summarize(sample, confidence)
        if not s.has_ci:
            # No interval is honest only when the confidence is out of reach.
            assert len(sample) < stats.min_repetitions_for_median_interval(confidence), s
            assert "needs at least" in s.ci_reason
            continue
        judged += 1
        covered += s.ci_low <= 1.0 <= s.ci_high
    return covered / judged if judged else None, judged / REPLICATES


def models():
    out = [(name, m) for name, m in FITTED.items()]
    return out + [("harsh", HARSH)]


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
@pytest.mark.parametrize("name,model", models(), ids=[n for n, _ in models()])
def test_interval_covers_at_the_shipped_repetition_policy(spec, name, model):
    policy = policy_of(spec)
    rate, with_interval = coverage(model, policy, seed=len(spec.stem) * 7919 + len(name))
    floor = 0.97 if policy[2] >= 0.99 else 0.93
    print(f"{spec.stem} {policy} {name}: coverage {rate}, points with an interval "
          f"{with_interval:.2f}")
    if rate is not None:
        assert rate >= floor
    assert with_interval > 0.5, "most points of a shipped spec must get an interval"


@pytest.mark.parametrize("n", [6, 8, 10, 15])
def test_interval_covers_at_fixed_repetitions(n):
    for name, model in models():
        rate, _ = coverage(model, (n, n, 0.95, 0.0), seed=n)
        assert rate >= 0.95, (name, n, rate)


def test_fitted_model_is_skewed_like_the_runs():
    """The noise is not normal: the reason a t or BCa interval under-covers here."""
    rng = np.random.default_rng(0)
    for name, model in FITTED.items():
        x = draw(model, rng, 20000)
        assert abs(sps.skew(x)) > 0.3, name
        assert np.median(x) == pytest.approx(1.0, abs=0.01)
