// The scheduler: interleaved, shuffled, reproducible order; warm-ups first; points stop
// repeating when their confidence intervals reach the target (or at max), driven here
// by fake trial sources of known variance instead of sockets.

#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "harness/plan/scheduler.h"

namespace zcb {
namespace {

TEST(StudentT, QuantilesMatchTheTables) {
  EXPECT_NEAR(StudentTQuantile(0.975, 1), 12.7062047, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.975, 4), 2.7764451, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.995, 9), 3.2498355, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.95, 30), 1.6972609, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.9995, 2), 31.5990546, 1e-5);
  EXPECT_NEAR(StudentTQuantile(0.025, 4), -2.7764451, 1e-6);
}

TEST(StudentT, IntervalOfKnownSample) {
  // 2, 4, 6: mean 4, s = 2, t(0.975, 2) = 4.3026527: half-width 4.3026527 * 2 / sqrt(3).
  auto ci = ConfidenceInterval({2, 4, 6}, 0.95);
  ASSERT_TRUE(ci.has_value());
  EXPECT_DOUBLE_EQ(ci->mean, 4);
  EXPECT_NEAR(ci->half_width, 4.3026527 * 2 / std::sqrt(3.0), 1e-6);
  EXPECT_FALSE(ConfidenceInterval({5}, 0.95).has_value());
}

// A fake source: the value of repetition i.
using Source = std::function<double(int)>;

Source Alternating(double mean, double amplitude) {
  return [=](int i) { return mean * (1 + (i % 2 == 0 ? amplitude : -amplitude)); };
}
Source Constant(double v) {
  return [=](int) { return v; };
}

struct Driven {
  int repetitions = 0;
  std::optional<bool> converged;
  std::vector<std::optional<bool>> verdicts;
};

// Runs one point to completion with goodput and CPU from the sources.
Driven DrivePoint(const RepeatPolicy& policy, const Source& goodput, const Source& cpu) {
  Scheduler scheduler(1, policy, 1);
  Driven d;
  while (auto next = scheduler.Next()) {
    TrialOutcome outcome{TrialStatus::kOk, goodput(next->repetition), cpu(next->repetition)};
    const Verdict v = scheduler.Record(*next, outcome);
    if (next->warmup) continue;
    ++d.repetitions;
    d.verdicts.push_back(v.converged);
    if (v.point_done) d.converged = v.converged;
    if (d.repetitions > 1000) break;
  }
  return d;
}

RepeatPolicy Policy(int min, int max, double confidence, double half_width, int warmup = 0) {
  return RepeatPolicy{warmup, min, max, confidence, half_width};
}

// Goodput alternating 100 +- 10% (sample sd about 10): the 95% interval first fits in
// +-5% of the mean at the 19th repetition (t * s / sqrt(n) / mean = 0.0492; at 18 it is
// 0.0512), computed independently with scipy.stats.t.
TEST(Convergence, StopsAtTheExpectedRepetitionForKnownVariance) {
  const Driven d = DrivePoint(Policy(2, 100, 0.95, 0.05), Alternating(100e6, 0.10), Constant(1000));
  EXPECT_EQ(d.repetitions, 19);
  EXPECT_EQ(d.converged, true);
  // Only the trial that ended the point carries a verdict; the ones before are not judged.
  for (size_t i = 0; i + 1 < d.verdicts.size(); ++i) EXPECT_FALSE(d.verdicts[i].has_value()) << i;
  EXPECT_EQ(d.verdicts.back(), true);
}

TEST(Convergence, CpuPerKibMustConvergeToo) {
  // Steady goodput, the same alternating noise on CPU per KiB: the same 19 repetitions.
  const Driven d = DrivePoint(Policy(2, 100, 0.95, 0.05), Constant(5e9), Alternating(2000, 0.10));
  EXPECT_EQ(d.repetitions, 19);
  EXPECT_EQ(d.converged, true);
}

TEST(Convergence, ThreeValueCycleAtTightTarget) {
  // 90, 100, 110 repeating, 95% +-2.5%: 45 repetitions (0.02481; at 44: 0.02501).
  const Source cycle = [](int i) { return std::vector<double>{90, 100, 110}[i % 3]; };
  const Driven d = DrivePoint(Policy(3, 100, 0.95, 0.025), cycle, Constant(700));
  EXPECT_EQ(d.repetitions, 45);
  EXPECT_EQ(d.converged, true);
}

TEST(Convergence, NoiseBeyondTheTargetStopsAtMaxNotConverged) {
  const Driven d = DrivePoint(Policy(2, 6, 0.95, 0.05), Alternating(100, 0.5), Constant(1));
  EXPECT_EQ(d.repetitions, 6);
  EXPECT_EQ(d.converged, false);
}

TEST(Convergence, SteadyValuesStopAtMin) {
  const Driven d = DrivePoint(Policy(3, 10, 0.99, 0.01), Constant(42), Constant(7));
  EXPECT_EQ(d.repetitions, 3);
  EXPECT_EQ(d.converged, true);
}

TEST(Convergence, OneRepetitionCannotConverge) {
  const Driven d = DrivePoint(Policy(1, 1, 0.95, 0.5), Constant(42), Constant(7));
  EXPECT_EQ(d.repetitions, 1);
  EXPECT_EQ(d.converged, false);
}

// A point is converged only if every metric of its target converged. Without CPU
// figures its CPU cost cannot converge, so the point ends unconverged as soon as its
// goodput converged, and the verdict says which metric failed and why.
TEST(Convergence, MissingCpuFiguresEndThePointUnconvergedNamingTheMetric) {
  Scheduler scheduler(1, Policy(2, 10, 0.95, 0.05), 3);
  int n = 0;
  Verdict v;
  while (auto next = scheduler.Next()) {
    v = scheduler.Record(*next, TrialOutcome{TrialStatus::kOk, 100.0, std::nullopt});
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(v.converged, false);
  EXPECT_FALSE(v.cpu.has_value());
  ASSERT_EQ(v.metrics.size(), 2u);
  EXPECT_EQ(v.metrics[0].metric, kGoodputMetric);
  EXPECT_TRUE(v.metrics[0].converged);
  EXPECT_EQ(v.metrics[0].reason, "");
  EXPECT_EQ(v.metrics[1].metric, kCpuMetric);
  EXPECT_FALSE(v.metrics[1].converged);
  EXPECT_EQ(v.metrics[1].reason, "missing in 2 of 2 good repetitions");
  EXPECT_NE(v.reason.find("cpu.ns_per_kib missing in 2 of 2"), std::string::npos) << v.reason;
}

// One trial in five without a CPU figure is enough: the CPU intervals of the others
// might look converged, but they are not the point's CPU cost.
TEST(Convergence, OneTrialWithoutCpuFigureKeepsThePointUnconverged) {
  Scheduler scheduler(1, Policy(3, 10, 0.95, 0.05), 3);
  int n = 0;
  Verdict v;
  while (auto next = scheduler.Next()) {
    const std::optional<double> cpu = n == 1 ? std::nullopt : std::optional<double>(700.0);
    v = scheduler.Record(*next, TrialOutcome{TrialStatus::kOk, 100.0, cpu});
    ++n;
  }
  EXPECT_EQ(n, 3);
  EXPECT_EQ(v.converged, false);
  ASSERT_EQ(v.metrics.size(), 2u);
  EXPECT_TRUE(v.metrics[0].converged);
  EXPECT_FALSE(v.metrics[1].converged);
  EXPECT_EQ(v.metrics[1].reason, "missing in 1 of 3 good repetitions");
}

// At max, the verdict names each metric that did not converge with its half-width,
// and the ones that did.
TEST(Convergence, AtMaxTheVerdictSaysWhichMetricsConverged) {
  Scheduler scheduler(1, Policy(2, 4, 0.95, 0.05), 3);
  Verdict v;
  int i = 0;
  while (auto next = scheduler.Next()) {
    const double goodput = i++ % 2 == 0 ? 150.0 : 50.0;
    v = scheduler.Record(*next, TrialOutcome{TrialStatus::kOk, goodput, 700.0});
  }
  EXPECT_EQ(i, 4);
  EXPECT_EQ(v.converged, false);
  ASSERT_EQ(v.metrics.size(), 2u);
  EXPECT_FALSE(v.metrics[0].converged);
  EXPECT_NE(v.metrics[0].reason.find("relative half-width"), std::string::npos) << v.metrics[0].reason;
  EXPECT_TRUE(v.metrics[1].converged);
  EXPECT_EQ(v.reason.rfind("maximum repetitions reached: goodput_bps relative half-width", 0), 0u) << v.reason;
}

TEST(Convergence, RepeatedErrorsAbandonAPointAndUnsupportedEndsItAtOnce) {
  Scheduler scheduler(2, Policy(3, 10, 0.95, 0.05), 5);
  std::map<size_t, int> trials;
  std::map<size_t, std::string> reasons;
  while (auto next = scheduler.Next()) {
    ++trials[next->point];
    const TrialStatus status = next->point == 0 ? TrialStatus::kError : TrialStatus::kUnsupported;
    const Verdict v = scheduler.Record(*next, TrialOutcome{status, std::nullopt, std::nullopt});
    if (v.point_done) reasons[next->point] = v.reason;
    EXPECT_FALSE(v.converged.has_value());
  }
  EXPECT_EQ(trials[0], Scheduler::kMaxConsecutiveErrors);
  EXPECT_EQ(reasons[0], "abandoned after repeated errors");
  EXPECT_EQ(trials[1], 1);
  EXPECT_EQ(reasons[1], "unsupported");
}

TEST(Convergence, AnErrorBetweenGoodTrialsDoesNotAbandon) {
  Scheduler scheduler(1, Policy(3, 10, 0.95, 0.05), 5);
  int i = 0, good = 0;
  Verdict last;
  while (auto next = scheduler.Next()) {
    const bool fail = i++ == 1;
    last = scheduler.Record(*next, fail ? TrialOutcome{TrialStatus::kError, std::nullopt, std::nullopt}
                                        : TrialOutcome{TrialStatus::kOk, 10.0, 20.0});
    if (!fail) ++good;
  }
  EXPECT_EQ(good, 3);
  EXPECT_EQ(i, 4);
  EXPECT_EQ(last.converged, true);
}

// Runs every point with steady values and returns the trial order.
std::vector<ScheduledTrial> Order(size_t points, const RepeatPolicy& policy, uint64_t seed) {
  Scheduler scheduler(points, policy, seed);
  std::vector<ScheduledTrial> order;
  while (auto next = scheduler.Next()) {
    order.push_back(*next);
    scheduler.Record(*next, TrialOutcome{TrialStatus::kOk, 100.0 + static_cast<double>(next->point), 5.0});
  }
  return order;
}

TEST(Interleaving, WarmupsFirstThenRoundsThatArePermutations) {
  const size_t kPoints = 8;
  const auto order = Order(kPoints, Policy(3, 3, 0.95, 0.05, /*warmup=*/1), 42);
  ASSERT_EQ(order.size(), kPoints * 4);
  for (size_t round = 0; round < 4; ++round) {
    std::set<size_t> seen;
    for (size_t i = 0; i < kPoints; ++i) {
      const ScheduledTrial& t = order[round * kPoints + i];
      seen.insert(t.point);
      EXPECT_EQ(t.warmup, round == 0);
      EXPECT_EQ(t.repetition, round == 0 ? 0 : static_cast<int>(round) - 1);
    }
    EXPECT_EQ(seen.size(), kPoints) << "round " << round << " is not a permutation";
  }
  // Repetitions of different points alternate: no point twice in a row, except across
  // a round boundary.
  int boundary_repeats = 0;
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i].point == order[i - 1].point) {
      EXPECT_EQ(i % kPoints, 0u);
      ++boundary_repeats;
    }
  }
  EXPECT_LE(boundary_repeats, 3);
}

TEST(Interleaving, TheSeedDecidesTheOrder) {
  const RepeatPolicy policy = Policy(2, 2, 0.95, 0.05, 1);
  auto points_of = [](const std::vector<ScheduledTrial>& order) {
    std::vector<size_t> out;
    for (const auto& t : order) out.push_back(t.point);
    return out;
  };
  EXPECT_EQ(points_of(Order(10, policy, 7)), points_of(Order(10, policy, 7)));
  EXPECT_NE(points_of(Order(10, policy, 7)), points_of(Order(10, policy, 8)));
  // Rounds are shuffled afresh: round 1's order is not round 0's.
  Scheduler scheduler(10, policy, 7);
  EXPECT_NE(scheduler.RoundOrder(0), scheduler.RoundOrder(1));
}

// The order is part of what a recorded seed reproduces, across machines and standard
// libraries; a change here breaks the resume of runs started with the old order.
TEST(Interleaving, RoundOrderIsStableForAGivenSeed) {
  Scheduler scheduler(6, Policy(1, 1, 0.95, 0.05), 20240601);
  EXPECT_EQ(scheduler.RoundOrder(0), (std::vector<size_t>{2, 1, 4, 0, 3, 5}));
}

TEST(Interleaving, RemainingTrialsBounds) {
  Scheduler scheduler(3, Policy(2, 5, 0.95, 0.05, 1), 1);
  auto r = scheduler.RemainingTrials();
  EXPECT_EQ(r.at_least, 3u * (1 + 2));
  EXPECT_EQ(r.at_most, 3u * (1 + 5));
  while (auto next = scheduler.Next()) scheduler.Record(*next, TrialOutcome{TrialStatus::kOk, 1.0, 1.0});
  r = scheduler.RemainingTrials();
  EXPECT_EQ(r.at_least, 0u);
  EXPECT_EQ(r.at_most, 0u);
  EXPECT_EQ(scheduler.points_done(), 3u);
}

// Replaying the outcomes so far into a fresh scheduler continues with exactly the
// trials an uninterrupted scheduler would have run.
TEST(Interleaving, ReplayContinuesExactly) {
  const RepeatPolicy policy = Policy(2, 6, 0.95, 0.05, 1);
  auto outcome = [](const ScheduledTrial& t) {
    return TrialOutcome{TrialStatus::kOk, 100.0 + (t.repetition % 2 ? 15.0 : -15.0) * static_cast<double>(t.point),
                        9.0};
  };
  Scheduler whole(5, policy, 99);
  std::vector<std::tuple<size_t, bool, int>> full;
  while (auto next = whole.Next()) {
    full.emplace_back(next->point, next->warmup, next->repetition);
    whole.Record(*next, outcome(*next));
  }
  for (size_t cut : {size_t{0}, size_t{3}, size_t{7}, full.size() / 2, full.size() - 1}) {
    Scheduler first(5, policy, 99);
    std::vector<ScheduledTrial> done;
    for (size_t i = 0; i < cut; ++i) {
      auto next = first.Next();
      ASSERT_TRUE(next);
      done.push_back(*next);
      first.Record(*next, outcome(*next));
    }
    Scheduler resumed(5, policy, 99);
    for (const auto& t : done) resumed.Record(t, outcome(t));
    std::vector<std::tuple<size_t, bool, int>> combined;
    for (const auto& t : done) combined.emplace_back(t.point, t.warmup, t.repetition);
    while (auto next = resumed.Next()) {
      combined.emplace_back(next->point, next->warmup, next->repetition);
      resumed.Record(*next, outcome(*next));
    }
    EXPECT_EQ(combined, full) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace zcb
