#pragma once

// A run plan: a checked spec expanded into points, each resolved against the registry
// (ResolveTrial: every usage error is found here, before anything runs), with the
// repetition policy and the seed. `zcbench run SPEC --dry-run` prints it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plan/matrix.h"
#include "harness/plan/scheduler.h"
#include "harness/plan/spec.h"
#include "harness/trial/trial.h"

namespace zcb {

struct PlannedPoint {
  MatrixPoint point;
  ResolvedTrial measured;  // the measured trials
  ResolvedTrial warmup;    // the warm-up trials (a shorter duration or byte count, if asked)
  nlohmann::json params;   // the records' params (TrialParams::Of(measured) + path_name)
  std::string key;         // the records' `point`: PointKey(measured), from the parameter table
  // Why no trial of this point can run on this machine (the strategy's availability
  // probe failed, or the path needs privileges the process lacks); empty if it can. Such
  // a point gets one record with status "unsupported" and the reason.
  std::string unsupported;
};

struct RunPlan {
  ExperimentSpec spec;
  Matrix matrix;
  std::vector<PlannedPoint> points;
  RepeatPolicy policy;
  uint64_t seed = 0;
  bool quick = false;
  std::map<std::string, size_t> index_by_key;  // point key -> index in `points`
};

// --quick: one repetition per point, no warm-up, trials cut to this long (or this many
// bytes): a smoke test of a spec, not a measurement.
inline constexpr double kQuickDurationS = 0.25;
inline constexpr uint64_t kQuickBytes = 16ull << 20;

// Expands and resolves `spec`. Errors name the spec's file and line like the parser's.
Result<RunPlan> BuildRunPlan(ExperimentSpec spec, const SpecCatalog& catalog, uint64_t seed, bool quick);

// One point, resolved (every usage error of its trials is found here), with its
// records' params, its key, and why it cannot run here (if it cannot).
Result<PlannedPoint> PlanPoint(MatrixPoint point, const TrialSpec& measured, const TrialSpec& warmup,
                               const SpecCatalog& catalog);

// `zcbench run -s ...`: each trial of the command line a point, measured once, in the
// order given (no warm-up, no shuffle), run through the same path as a spec's plan.
// `spec` holds the command line's [trial] settings (probes, ...).
Result<RunPlan> BuildCommandLinePlan(ExperimentSpec spec, const std::vector<TrialSpec>& trials, uint64_t seed);

// Estimated wall time of one trial of `point` (its window plus set-up and teardown).
double EstimateTrialSeconds(const PlannedPoint& point, bool warmup);

// The estimated wall time of a whole plan: every point's warm-up and its fewest and most
// repetitions (a point that does not converge runs up to the most).
struct PlanSeconds {
  double at_least = 0;
  double at_most = 0;
};
PlanSeconds EstimatePlanSeconds(const RunPlan& plan);

// "1 min 30 s": a duration for the plan's messages.
std::string FormatDuration(double seconds);

// The plan for --dry-run: points, what was left out and why, trials, estimated time.
std::string FormatPlan(const RunPlan& plan);

// A new seed for a spec that gives none (recorded in the manifest, reused on resume).
uint64_t DrawSeed();

}  // namespace zcb
