#pragma once

// Executing a run plan: the scheduler picks each trial, a TrialRunner runs it, the
// record gets its convergence verdict and is appended to the results store before the
// next trial starts. The runner is injectable, so that tests drive the whole loop
// (order, convergence, interruption, resume) without sockets.

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plan/run_plan.h"
#include "harness/plan/scheduler.h"
#include "harness/results/results_store.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_record.h"

namespace zcb {

// Runs one trial of `point` and returns its record (RunTrial in production).
using TrialRunner =
    std::function<TrialRecord(const PlannedPoint& point, const ResolvedTrial& trial, const TrialContext& context)>;

// The production runner: RunTrial.
TrialRunner RealTrialRunner();

// What a progress display gets after each trial.
struct ProgressEvent {
  const TrialRecord* record = nullptr;  // the record just written
  const PlannedPoint* point = nullptr;
  size_t trials_done = 0;  // in this process, and replayed before it
  Scheduler::Remaining remaining;
  size_t points = 0;
  size_t points_done = 0;
  double trial_seconds = 0;  // wall time of the trial just run
};

struct ExecuteOptions {
  std::string run_id;
  bool fail_fast = false;
  const std::atomic<bool>* cancel = nullptr;  // set: stop, dropping the trial in progress
  std::vector<WindowProbe*> probes;
  std::function<void(const ProgressEvent&)> progress;
  // Called just before a trial starts (a progress display shows what runs now).
  std::function<void(const PlannedPoint&, const ScheduledTrial&)> starting;
};

enum class RunState { kComplete, kInterrupted, kFailed };
std::string_view ToString(RunState state);

struct RunCounts {
  size_t ok = 0;
  size_t error = 0;
  size_t unsupported = 0;
  size_t warmup = 0;  // warm-up trials (any status)
  void Add(const TrialRecord& record);
  // A record read back from trials.jsonl; one this version cannot read counts as an error.
  void Add(const nlohmann::json& record);
  nlohmann::json ToJson() const;
};

struct ExecuteResult {
  RunState state = RunState::kComplete;
  // kFailed: why. kInterrupted with a failure: the results store refused a record (the
  // run can be resumed once the folder is writable again); without one: the cancel flag.
  std::string failure;
  size_t trials_run = 0;
  // The record the store refused, so that what was measured is shown, not dropped.
  std::optional<nlohmann::json> unwritten_record;
};

// The records of an interrupted run, fed back into a fresh scheduler (read with
// TrialRecord::FromJson; a record it refuses is left in the file and not counted).
struct ReplayResult {
  size_t replayed = 0;        // records that counted towards their points
  size_t unknown_points = 0;  // records of points not in this plan, or unreadable (kept in the file, not counted)
  size_t duplicates = 0;      // a second record of the same trial (kept in the file, not counted)
  int next_index = 0;         // the trial index to continue from
};
ReplayResult ReplayRecords(const RunPlan& plan, Scheduler& scheduler, const std::vector<nlohmann::json>& records);

// The scheduler's view of a record.
TrialOutcome OutcomeOf(const TrialRecord& record);

// Runs trials until the scheduler has none left, the cancel flag is set, or (with
// fail_fast) a trial fails. `records` receives every record; each is appended to `store`
// first (null: `zcbench run -s` without --out keeps the records in memory only).
ExecuteResult ExecuteRun(const RunPlan& plan, Scheduler& scheduler, ResultsStore* store, int first_index,
                         size_t trials_before, const TrialRunner& runner, const ExecuteOptions& options,
                         std::vector<TrialRecord>& records);
inline ExecuteResult ExecuteRun(const RunPlan& plan, Scheduler& scheduler, ResultsStore& store, int first_index,
                                size_t trials_before, const TrialRunner& runner, const ExecuteOptions& options,
                                std::vector<TrialRecord>& records) {
  return ExecuteRun(plan, scheduler, &store, first_index, trials_before, runner, options, records);
}

// The record written for a point that cannot run here.
TrialRecord UnsupportedRecord(const PlannedPoint& point, const TrialContext& context);

}  // namespace zcb
