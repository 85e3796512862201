#include "harness/plan/experiment_run.h"

#include <chrono>
#include <limits>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "harness/trial/trial_record.h"

namespace zcb {
namespace {

bool Cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

nlohmann::json IntervalJson(const std::optional<MeanInterval>& interval) {
  if (!interval) return nullptr;
  return {
      {"n", interval->n},
      {"mean", interval->mean},
      {"half_width", interval->half_width},
      {"relative_half_width", interval->mean != 0 ? nlohmann::json(interval->Relative()) : nlohmann::json(nullptr)}};
}

// {"goodput_bps": {"converged": true, "reason": null}, "cpu.ns_per_kib": {...}}, or null
// before the point has its minimum of good repetitions.
nlohmann::json MetricsConvergenceJson(const std::vector<MetricConvergence>& metrics) {
  if (metrics.empty()) return nullptr;
  nlohmann::json out = nlohmann::json::object();
  for (const MetricConvergence& m : metrics) {
    out[m.metric] = {{"converged", m.converged},
                     {"reason", m.converged ? nlohmann::json(nullptr) : nlohmann::json(m.reason)}};
  }
  return out;
}

nlohmann::json ConvergenceJson(const Verdict& v, const RepeatPolicy& policy) {
  return {{"good_repetitions", v.good_repetitions},
          {"point_done", v.point_done},
          {"reason", v.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.reason)},
          {"confidence", policy.confidence},
          {"target_relative_half_width", policy.half_width},
          {"min", policy.min},
          {"max", policy.max},
          {"goodput", IntervalJson(v.goodput)},
          {"cpu", IntervalJson(v.cpu)},
          {"metrics", MetricsConvergenceJson(v.metrics)}};
}

}  // namespace

std::string_view ToString(RunState state) {
  switch (state) {
    case RunState::kComplete:
      return "complete";
    case RunState::kInterrupted:
      return "interrupted";
    case RunState::kFailed:
      return "failed";
  }
  return "failed";
}

TrialRunner RealTrialRunner() {
  return [](const PlannedPoint&, const ResolvedTrial& trial, const TrialContext& context) {
    return RunTrial(trial, context);
  };
}

void RunCounts::Add(const TrialRecord& record) {
  if (record.warmup) {
    ++warmup;
    return;
  }
  switch (record.status) {
    case TrialStatus::kOk:
      ++ok;
      break;
    case TrialStatus::kUnsupported:
      ++unsupported;
      break;
    case TrialStatus::kError:
      ++error;
      break;
  }
}

void RunCounts::Add(const nlohmann::json& record) {
  if (!record.is_object()) return;
  if (auto read = TrialRecord::FromJson(record); read.ok()) {
    Add(*read);
  } else {
    ++error;
  }
}

nlohmann::json RunCounts::ToJson() const {
  return {{"ok", ok},
          {"error", error},
          {"unsupported", unsupported},
          {"warmup", warmup},
          {"trials", ok + error + unsupported + warmup}};
}

TrialOutcome OutcomeOf(const TrialRecord& record) {
  TrialOutcome outcome;
  outcome.status = record.status;
  if (record.metrics) {
    outcome.goodput_bps = record.metrics->goodput_bps;
    const nlohmann::json& ns_per_kib =
        record.metrics->cpu.is_object() ? record.metrics->cpu.value("ns_per_kib", nlohmann::json()) : nlohmann::json();
    if (ns_per_kib.is_number()) outcome.ns_per_kib = ns_per_kib.get<double>();
  }
  return outcome;
}

TrialRecord UnsupportedRecord(const PlannedPoint& point, const TrialContext& context) {
  TrialRecord record = NewTrialRecord(point.measured, context);
  record.point = point.key;
  record.Fail(Error(0, point.unsupported, ErrorKind::kUnsupported));
  return record;
}

ReplayResult ReplayRecords(const RunPlan& plan, Scheduler& scheduler, const std::vector<nlohmann::json>& records) {
  ReplayResult result;
  std::set<std::tuple<size_t, bool, int>> seen;
  for (const auto& json : records) {
    // The trial index goes on after every record in the file, read or not. An index this
    // program cannot have written (negative, or not below the largest int: an edited file)
    // does not move it: the next one would wrap.
    if (json.is_object() && json.contains("trial") && json["trial"].is_number_integer()) {
      const int64_t trial = json["trial"].get<int64_t>();
      if (trial >= 0 && trial < std::numeric_limits<int>::max()) {
        result.next_index = std::max(result.next_index, static_cast<int>(trial) + 1);
      }
    }
    const auto record = TrialRecord::FromJson(json);
    const auto known = record.ok() ? plan.index_by_key.find(record->point) : plan.index_by_key.end();
    if (known == plan.index_by_key.end()) {
      ++result.unknown_points;
      continue;
    }
    ScheduledTrial slot{known->second, record->warmup, static_cast<int>(record->repetition)};
    if (!seen.emplace(slot.point, slot.warmup, slot.repetition).second) {
      ++result.duplicates;
      continue;
    }
    scheduler.Record(slot, OutcomeOf(*record));
    ++result.replayed;
  }
  return result;
}

ExecuteResult ExecuteRun(const RunPlan& plan, Scheduler& scheduler, ResultsStore* store, int first_index,
                         size_t trials_before, const TrialRunner& runner, const ExecuteOptions& options,
                         std::vector<TrialRecord>& records) {
  using Clock = std::chrono::steady_clock;
  ExecuteResult result;
  int index = first_index;
  for (;;) {
    if (Cancelled(options.cancel)) {
      result.state = RunState::kInterrupted;
      return result;
    }
    const std::optional<ScheduledTrial> next = scheduler.Next();
    if (!next) break;
    const PlannedPoint& point = plan.points[next->point];
    ScheduledTrial slot = *next;
    // A point that cannot run here is recorded once, as a measured trial, so that
    // reports (which skip warm-ups) list it with its reason.
    if (!point.unsupported.empty()) slot = ScheduledTrial{next->point, false, 0};

    TrialContext context;
    context.run_id = options.run_id;
    context.trial = index;
    context.repetition = slot.repetition;
    context.warmup = slot.warmup;
    context.path_name = point.point.path_name;
    context.probes = options.probes;
    context.cancel = options.cancel;
    if (options.starting) options.starting(point, slot);
    const Clock::time_point start = Clock::now();
    TrialRecord record = point.unsupported.empty() ? runner(point, slot.warmup ? point.warmup : point.measured, context)
                                                   : UnsupportedRecord(point, context);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // A trial cut short by Ctrl-C measured a window nobody asked for: drop it. It runs
    // again, whole, when the run is resumed.
    if (Cancelled(options.cancel)) {
      result.state = RunState::kInterrupted;
      return result;
    }
    const Verdict verdict = scheduler.Record(slot, OutcomeOf(record));
    record.verdict = TrialRecord::Verdict{
        verdict.converged, slot.warmup ? nlohmann::json(nullptr) : ConvergenceJson(verdict, scheduler.policy())};
    if (Status appended = store != nullptr ? store->Append(record) : OkStatus(); !appended.ok()) {
      // The results folder refused the record (full, read-only, failing): the run stops
      // where a resume can pick it up. The records before this one are whole; this one
      // is handed back to the caller to show, and its trial runs again on --resume.
      result.state = RunState::kInterrupted;
      result.failure = fmt::format(
          "the results folder {} refused the record of trial {} ({}): {}; the records before it are kept whole, "
          "and this trial runs again on --resume",
          store->dir(), context.trial, point.point.label, appended.error().ToString());
      result.unwritten_record = record.ToJson();
      return result;
    }
    ++index;
    ++result.trials_run;
    records.push_back(std::move(record));
    if (options.progress) {
      ProgressEvent event;
      event.record = &records.back();
      event.point = &point;
      event.trials_done = trials_before + result.trials_run;
      event.remaining = scheduler.RemainingTrials();
      event.points = scheduler.points();
      event.points_done = scheduler.points_done();
      event.trial_seconds = seconds;
      options.progress(event);
    }
    if (options.fail_fast && records.back().status == TrialStatus::kError) {
      result.state = RunState::kFailed;
      result.failure = fmt::format("trial {} ({}) failed and --fail-fast is set: {}", context.trial, point.point.label,
                                   records.back().error.value_or("no reason given"));
      return result;
    }
  }
  result.state = RunState::kComplete;
  return result;
}

}  // namespace zcb
