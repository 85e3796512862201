"""Statistics: intervals against textbook formulas and brute-force enumeration."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from analysis import stats


def test_empty_and_single_value():
    assert stats.summarize([]) is None
    s = stats.summarize([5.0])
    assert (s.n, s.mean, s.median, s.std, s.cv, s.ci_low, s.ci_method) == (1, 5.0, 5.0, None, None, None, None)


def test_too_few_values_for_a_median_interval_say_how_many_are_needed():
    s = stats.summarize([1.0, 3.0, 2.0, 2.5, 1.5], 0.95)
    assert s.ci_low is None and not s.has_ci
    assert s.ci_reason == "5 repetitions cannot give a 95% interval of the median; it needs at least 6"
    assert stats.min_repetitions_for_median_interval(0.95) == 6
    assert stats.min_repetitions_for_median_interval(0.99) == 8
    assert stats.min_repetitions_for_median_interval(0.90) == 5


def test_median_interval_is_the_binomial_order_statistic_interval():
    x = [10.0, 12.0, 9.0, 11.0, 30.0, 10.5, 9.5, 10.2, 11.5, 10.8]  # one slow outlier
    s = stats.summarize(x, 0.95)
    assert s.ci_method == "order-statistic"
    # n = 10: k = 2 (1 - 2 * P(Bin(10, .5) <= 1) = 0.9785); k = 3 gives 0.891 < 0.95.
    ordered = sorted(x)
    assert (s.ci_low, s.ci_high) == (ordered[1], ordered[8])
    assert s.ci_confidence == pytest.approx(1 - 2 * sps.binom.cdf(1, 10, 0.5))
    assert s.ci_low <= s.median <= s.ci_high
    assert s.median == pytest.approx(np.median(x)) and s.mean == pytest.approx(np.mean(x))
    assert s.cv == pytest.approx(np.std(x, ddof=1) / np.mean(x))
    assert stats.summarize(x, 0.95) == s  # deterministic


def test_constant_sample_has_zero_width_interval():
    s = stats.summarize([3.0] * 5)
    assert (s.ci_low, s.ci_high, s.ci_method, s.cv) == (3.0, 3.0, "exact", 0.0)


def test_median_interval_coverage_is_at_least_nominal_on_skewed_data():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        s = stats.summarize(50 * rng.lognormal(0, 0.5, 8), 0.90)
        hits += s.ci_low <= 50 <= s.ci_high
    # n = 8 at 90 %: k = 2, exact confidence 0.930.
    assert 0.89 <= hits / 400 <= 0.97


def _brute_u_cdf(m, n):
    counts = {}
    for ranks in itertools.combinations(range(m + n), m):
        # U counts pairs (x in the m-group, y in the n-group) with x < y.
        u = sum(sum(1 for y in range(m + n) if y not in ranks and y > r) for r in ranks)
        counts[u] = counts.get(u, 0) + 1
    total = math.comb(m + n, m)
    running, out = 0, []
    for u in range(m * n + 1):
        running += counts.get(u, 0)
        out.append(running / total)
    return out


@pytest.mark.parametrize("m,n", [(1, 1), (2, 3), (3, 3), (4, 2), (4, 5), (5, 5)])
def test_exact_u_distribution_matches_enumeration(m, n):
    assert stats._u_null_cdf(m, n) == pytest.approx(_brute_u_cdf(m, n))


def test_too_few_repetitions_for_the_confidence():
    assert stats.min_repetitions_mwu(0.95) == 4
    est = stats.ratio_of_medians([1.0, 1.1, 0.9], [1.0, 1.2, 0.95], 0.95)
    assert not est.has_ci and "need at least 4 each" in est.reason
    assert est.ratio == pytest.approx(1.0)
    assert stats.ratio_of_medians([1.0, 1.1, 0.9, 1.05], [1.0, 1.2, 0.95, 1.1], 0.95).has_ci


def test_one_repetition_has_no_interval():
    est = stats.ratio_of_medians([1.0], [1.0, 1.1], 0.95)
    assert not est.has_ci and "n=1 in base" in est.reason


def test_non_positive_values_have_no_ratio():
    est = stats.ratio_of_medians([0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 2.0, 3.0])
    assert est.ratio is None and "not all positive" in est.reason


@pytest.mark.parametrize("method", stats.METHODS)
def test_pure_shift_is_inside_the_interval(method):
    base = np.random.default_rng(5).normal(100, 3, 12)
    est = stats.ratio_of_medians(base, base * 0.9, 0.95, method, seed=1)
    assert est.ratio == pytest.approx(0.9)
    assert est.low <= 0.9 <= est.high
    if method == "mann-whitney":
        assert est.achieved_confidence >= 0.95


def test_bootstrap_ratio_is_reproducible():
    rng = np.random.default_rng(9)
    b, n = rng.normal(10, 0.3, 10), rng.normal(10, 0.3, 10)
    one = stats.ratio_of_medians(b, n, 0.95, "bootstrap", seed=42)
    two = stats.ratio_of_medians(b, n, 0.95, "bootstrap", seed=42)
    assert (one.low, one.high) == (two.low, two.high)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        stats.ratio_of_medians([1, 2, 3, 4], [1, 2, 3, 4], method="magic")


def test_stable_seed_is_stable():
    assert stats.stable_seed("a", "b") == stats.stable_seed("a", "b") != stats.stable_seed("b", "a")
    assert stats.stable_seed("point", "goodput_bps") == 1721259559  # crc32: fixed forever


def test_interval_stays_in_the_physical_range():
    s = stats.summarize([0.0, 0.02, 0.01, 0.0, 0.03, 0.01], 0.95, bounds=(0.0, 1.0))
    assert (s.ci_low, s.ci_high) == (0.0, 0.03)  # order statistics: observed values
