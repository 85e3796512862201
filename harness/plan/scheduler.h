#pragma once

// Trial order and repetitions to confidence.
//
// Trials are interleaved in rounds: every point still being measured gets one trial per
// round, in an order shuffled afresh for each round from the run's seed, so that slow
// drift of the machine (thermal, page cache, background load) spreads over all points
// instead of biasing the ones measured last. The first `warmup` rounds are warm-up
// trials (recorded, marked, never counted).
//
// A point stops repeating as netperf -I does: once it has `min` good repetitions and the
// confidence interval of every metric in its target (goodput and CPU cost per KiB) is
// within mean +- half_width; or at `max` repetitions, not converged. A point is converged
// only if every target metric converged: a point whose trials did not all report a CPU
// figure cannot show that its CPU cost converged, so it ends unconverged once its goodput
// converges (repeating would not bring the missing figure back). The verdict, with which
// metrics converged and why the others did not, is recorded in the record of the trial
// that ended the point (`converged` true or false); the records before it carry null.
//
// The scheduler is a pure function of the seed and the outcomes recorded so far, so a
// resumed run that replays its records continues exactly where the interrupted one stopped.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/trial/trial_record.h"

namespace zcb {

struct RepeatPolicy {
  int warmup = 0;             // warm-up trials per point
  int min = 1;                // measured repetitions before convergence is judged
  int max = 1;                // measured repetitions at most
  double confidence = 0.95;   // confidence level of the interval (0.5 to 0.999)
  double half_width = 0.025;  // the target: interval half-width relative to the mean
  // Shuffle each round's order (a spec's matrix); false keeps the plan's order (the
  // strategies of `zcbench run -s a,b`, run as listed).
  bool shuffle = true;
};

// What the scheduler needs from a finished trial.
struct TrialOutcome {
  TrialStatus status = TrialStatus::kOk;
  std::optional<double> goodput_bps;
  std::optional<double> ns_per_kib;
};

struct ScheduledTrial {
  size_t point = 0;
  bool warmup = false;
  int repetition = 0;  // 0-based, counted separately for warm-up and measured trials
};

// A Student-t confidence interval of a mean.
struct MeanInterval {
  size_t n = 0;
  double mean = 0;
  double half_width = 0;
  // half_width / |mean|; infinite for a zero mean.
  double Relative() const;
};

// The interval at `confidence` (e.g. 0.95); nullopt for fewer than two values.
std::optional<MeanInterval> ConfidenceInterval(const std::vector<double>& values, double confidence);

// The p-quantile of Student's t distribution with `dof` degrees of freedom.
double StudentTQuantile(double p, double dof);

// The names of the target metrics, as the analysis and the records call them.
inline constexpr const char* kGoodputMetric = "goodput_bps";
inline constexpr const char* kCpuMetric = "cpu.ns_per_kib";

// Whether one metric of the target converged, and why not when it did not.
struct MetricConvergence {
  std::string metric;  // kGoodputMetric or kCpuMetric
  bool converged = false;
  std::string reason;  // "" when converged
};

// The verdict after one trial, for its record.
struct Verdict {
  std::optional<bool> converged;  // set on the trial that ended the point
  bool point_done = false;
  int good_repetitions = 0;  // measured trials with status ok so far
  std::optional<MeanInterval> goodput;
  std::optional<MeanInterval> cpu;
  // Per target metric, once the point has `min` good repetitions (empty before).
  std::vector<MetricConvergence> metrics;
  std::string reason;  // why the point ended ("" while it goes on)
};

class Scheduler {
 public:
  // After this many failed trials in a row a point is abandoned: the failure is not
  // transient, and repeating it would only spend the run's time.
  static constexpr int kMaxConsecutiveErrors = 2;

  Scheduler(size_t points, RepeatPolicy policy, uint64_t seed);

  // The next trial to run, or nullopt when every point is done.
  std::optional<ScheduledTrial> Next() const;

  // Records the outcome of `trial` (the one Next() returned, or a record replayed on
  // resume) and returns the verdict to write into its record.
  Verdict Record(const ScheduledTrial& trial, const TrialOutcome& outcome);

  // Trials still to run: at least (every point stops at min) and at most (every point
  // runs to max).
  struct Remaining {
    size_t at_least = 0;
    size_t at_most = 0;
  };
  Remaining RemainingTrials() const;

  size_t points() const { return states_.size(); }
  size_t points_done() const;
  bool done(size_t point) const { return states_[point].done; }
  const RepeatPolicy& policy() const { return policy_; }

  // The order of the points in round `round` (a permutation, from the seed).
  std::vector<size_t> RoundOrder(int round) const;

 private:
  struct PointState {
    int warmups = 0;   // warm-up trials run
    int attempts = 0;  // measured trials run, any status
    int consecutive_errors = 0;
    std::vector<double> goodput;
    std::vector<double> cpu;  // only from the ok trials that reported a CPU figure
    bool done = false;
    int Slots() const { return warmups + attempts; }
  };

  Verdict Judge(PointState& state) const;
  MetricConvergence JudgeMetric(const char* metric, const std::vector<double>& values, size_t good,
                                const std::optional<MeanInterval>& interval) const;

  std::vector<PointState> states_;
  RepeatPolicy policy_;
  uint64_t seed_;
};

}  // namespace zcb
