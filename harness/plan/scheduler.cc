#include "harness/plan/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zcb {
namespace {

// SplitMix64: a tiny, fully specified generator. The order of a run must be the same
// on every standard library, so neither std::shuffle nor std::uniform_int_distribution
// (whose algorithms are implementation-defined) is used.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without modulo bias.
  uint64_t Below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = Next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  uint64_t state_;
};

// The regularised incomplete beta function I_x(a, b), by Lentz's continued fraction.
double IncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - IncompleteBeta(b, a, 1 - x);
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x)) / a;
  constexpr double kTiny = 1e-300;
  double f = 1, c = 1, d = 0;
  for (int i = 0; i <= 400; ++i) {
    const int m = i / 2;
    double numerator;
    if (i == 0) numerator = 1;
    else if (i % 2 == 0) numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    else numerator = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + numerator * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    d = 1 / d;
    c = 1 + numerator / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    const double cd = c * d;
    f *= cd;
    if (std::fabs(1 - cd) < 1e-15) break;
  }
  return front * (f - 1);
}

// P(T <= t) for Student's t with `dof` degrees of freedom.
double StudentTCdf(double t, double dof) {
  const double tail = 0.5 * IncompleteBeta(dof / 2, 0.5, dof / (dof + t * t));
  return t >= 0 ? 1 - tail : tail;
}

}  // namespace

double MeanInterval::Relative() const {
  if (mean == 0) return std::numeric_limits<double>::infinity();
  return half_width / std::fabs(mean);
}

double StudentTQuantile(double p, double dof) {
  if (p == 0.5) return 0;
  if (p < 0.5) return -StudentTQuantile(1 - p, dof);
  // The CDF is monotonic: bisect. 200 halvings of [0, 1e7] reach double precision.
  double lo = 0, hi = 1e7;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (StudentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

std::optional<MeanInterval> ConfidenceInterval(const std::vector<double>& values, double confidence) {
  const size_t n = values.size();
  if (n < 2) return std::nullopt;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  const double sd = std::sqrt(squares / static_cast<double>(n - 1));
  const double t = StudentTQuantile(0.5 + confidence / 2, static_cast<double>(n - 1));
  return MeanInterval{n, mean, t * sd / std::sqrt(static_cast<double>(n))};
}

Scheduler::Scheduler(size_t points, RepeatPolicy policy, uint64_t seed)
    : states_(points), policy_(policy), seed_(seed) {}

std::vector<size_t> Scheduler::RoundOrder(int round) const {
  std::vector<size_t> order(states_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (!policy_.shuffle) return order;
  // One generator per round, so that a round's order does not depend on how many
  // rounds came before it or which points are still active.
  SplitMix64 rng(seed_ ^ (0x5851f42d4c957f2dULL * (static_cast<uint64_t>(round) + 1)));
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  return order;
}

std::optional<ScheduledTrial> Scheduler::Next() const {
  int round = std::numeric_limits<int>::max();
  for (const auto& s : states_) {
    if (!s.done) round = std::min(round, s.Slots());
  }
  if (round == std::numeric_limits<int>::max()) return std::nullopt;
  for (size_t p : RoundOrder(round)) {
    const PointState& s = states_[p];
    if (s.done || s.Slots() != round) continue;
    if (s.warmups < policy_.warmup) return ScheduledTrial{p, true, s.warmups};
    return ScheduledTrial{p, false, s.attempts};
  }
  return std::nullopt;  // unreachable: some active point has Slots() == round
}

MetricConvergence Scheduler::JudgeMetric(const char* metric, const std::vector<double>& values, size_t good,
                                         const std::optional<MeanInterval>& interval) const {
  MetricConvergence m{metric, false, ""};
  if (values.size() < good) {
    m.reason = fmt::format("missing in {} of {} good repetitions", good - values.size(), good);
  } else if (!interval) {
    m.reason = "fewer than two values have no interval";
  } else if (interval->Relative() > policy_.half_width) {
    m.reason =
        fmt::format("relative half-width {:.4g} above the target {:.4g}", interval->Relative(), policy_.half_width);
  } else {
    m.converged = true;
  }
  return m;
}

Verdict Scheduler::Judge(PointState& s) const {
  Verdict v;
  const size_t good = s.goodput.size();
  v.good_repetitions = static_cast<int>(good);
  v.goodput = ConfidenceInterval(s.goodput, policy_.confidence);
  if (s.cpu.size() == good) v.cpu = ConfidenceInterval(s.cpu, policy_.confidence);
  if (v.good_repetitions < policy_.min) {
    if (s.attempts >= policy_.max) {
      s.done = true;
      v.point_done = true;
      v.converged = false;
      v.reason = "maximum repetitions reached";
    }
    return v;
  }
  v.metrics = {JudgeMetric(kGoodputMetric, s.goodput, good, v.goodput), JudgeMetric(kCpuMetric, s.cpu, good, v.cpu)};
  std::vector<std::string> open;  // metrics that did not converge, with why
  for (const MetricConvergence& m : v.metrics) {
    if (!m.converged) open.push_back(fmt::format("{} {}", m.metric, m.reason));
  }
  if (open.empty()) {
    s.done = true;
    v.point_done = true;
    v.converged = true;
    v.reason = "converged";
    return v;
  }
  // A CPU figure missing from a good repetition stays missing: once everything else has
  // converged, more repetitions cannot change the verdict.
  const bool only_missing_cpu_left = open.size() == 1 && s.cpu.size() < good;
  if (s.attempts >= policy_.max || only_missing_cpu_left) {
    s.done = true;
    v.point_done = true;
    v.converged = false;
    v.reason = fmt::format("{}: {}", s.attempts >= policy_.max ? "maximum repetitions reached" : "cannot converge",
                           fmt::join(open, "; "));
  }
  return v;
}

Verdict Scheduler::Record(const ScheduledTrial& trial, const TrialOutcome& outcome) {
  PointState& s = states_[trial.point];
  Verdict v;
  if (outcome.status == TrialStatus::kUnsupported) {
    // Availability does not change within a run: there is nothing to repeat.
    if (trial.warmup) ++s.warmups;
    else ++s.attempts;
    s.done = true;
    v.point_done = true;
    v.reason = "unsupported";
    return v;
  }
  if (trial.warmup) {
    ++s.warmups;
    if (outcome.status == TrialStatus::kError) {
      s.consecutive_errors++;
      if (s.consecutive_errors >= kMaxConsecutiveErrors) {
        s.done = true;
        v.point_done = true;
        v.reason = "abandoned after repeated errors";
      }
    } else {
      s.consecutive_errors = 0;
    }
    return v;
  }
  ++s.attempts;
  if (outcome.status == TrialStatus::kError) {
    s.consecutive_errors++;
    if (s.consecutive_errors >= kMaxConsecutiveErrors) {
      s.done = true;
      v.point_done = true;
      v.good_repetitions = static_cast<int>(s.goodput.size());
      v.reason = "abandoned after repeated errors";
      return v;
    }
    if (s.attempts >= policy_.max) return Judge(s);
    v.good_repetitions = static_cast<int>(s.goodput.size());
    return v;
  }
  s.consecutive_errors = 0;
  s.goodput.push_back(outcome.goodput_bps.value_or(0));
  if (outcome.ns_per_kib) s.cpu.push_back(*outcome.ns_per_kib);
  return Judge(s);
}

Scheduler::Remaining Scheduler::RemainingTrials() const {
  Remaining r;
  for (const auto& s : states_) {
    if (s.done) continue;
    const size_t warmups = static_cast<size_t>(std::max(0, policy_.warmup - s.warmups));
    const int good = static_cast<int>(s.goodput.size());
    r.at_least += warmups + static_cast<size_t>(std::max(1, std::min(policy_.min - good, policy_.max - s.attempts)));
    r.at_most += warmups + static_cast<size_t>(std::max(0, policy_.max - s.attempts));
  }
  return r;
}

size_t Scheduler::points_done() const {
  return static_cast<size_t>(std::count_if(states_.begin(), states_.end(), [](const PointState& s) { return s.done; }));
}

}  // namespace zcb
