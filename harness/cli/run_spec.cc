// zcbench run SPEC.toml: expand the spec, run its trials interleaved and repeated to
// confidence, record everything in results/<run_id>/, survive Ctrl-C and kill -9.

#include "harness/cli/run_spec.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "drivers/live_objects.h"
#include "harness/cli/commands.h"
#include "harness/cli/progress.h"
#include "harness/plan/experiment_run.h"
#include "harness/plan/run_plan.h"
#include "harness/plan/spec.h"
#include "harness/probes/probe_suite.h"
#include "harness/results/host_profile.h"
#include "harness/results/json_fields.h"
#include "harness/results/results_store.h"
#include "harness/results/run_manifest.h"
#include "harness/results/run_summary.h"
#include "harness/results/summary_table.h"
#include "harness/trial/trial_record.h"

namespace zcb::cli {
namespace {

// Set by the first SIGINT/SIGTERM/SIGHUP: the run stops after unwinding the trial in progress.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

void OnStopSignal(int sig) {
  if (g_stop.load()) {
    // A second signal: the user wants out now. Remove the namespaces and cgroups a
    // trial may have left (async-signal-safe), then end as the signal says.
    RemoveAllLiveObjects();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  g_stop.store(true);
  static const char kMessage[] =
      "\nzcbench: stopping: the trial in progress is dropped and its resources released (press Ctrl-C again to quit "
      "at once)\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

// SIGINT, SIGTERM and SIGHUP (the terminal closed) stop the run cooperatively while it
// lives, so that each leaves a resumable run; the drivers' emergency teardown keeps SIGQUIT
// and the atexit sweep.
class StopSignals {
 public:
  StopSignals() {
    InstallCleanupSignalHandlers();
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &previous_int_);
    ::sigaction(SIGTERM, &sa, &previous_term_);
    ::sigaction(SIGHUP, &sa, &previous_hup_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &previous_int_, nullptr);
    ::sigaction(SIGTERM, &previous_term_, nullptr);
    ::sigaction(SIGHUP, &previous_hup_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  struct sigaction previous_hup_ {};
};

std::string ResumeCommand(const std::string& spec_path, const std::string& dir) {
  return fmt::format("zcbench run {} --resume {}", ShellQuote(spec_path), ShellQuote(dir));
}

// Without --out a run goes to results/<run_id>/ under the current directory.
constexpr const char* kDefaultResultsRoot = "results";

// "zcbench run: <error>" on stderr; the error's kind gives the exit code.
int Stop(const Error& error) { return StopOn("run", error); }

// Creates the run folder `dir` into `store`; on failure says why and returns the exit
// code (2 when the folder exists already: a usage error of ResultsStore::Create).
std::optional<int> CreateRunFolder(const std::string& dir, std::optional<ResultsStore>& store) {
  auto created = ResultsStore::Create(dir);
  if (!created.ok()) return Stop(created.error());
  store.emplace(std::move(*created));
  return std::nullopt;
}

struct Loaded {
  ExperimentSpec spec;
  uint64_t seed = 0;
  bool quick = false;
};

// The spec, seed and quick flag of a run being resumed: the spec given must be the one
// recorded (same sha256); without one, the recorded text is used.
Result<Loaded> LoadForResume(const SpecRunArgs& args, const nlohmann::json& manifest, const SpecCatalog& catalog) {
  if (StringField(manifest, "schema") != kRunSchema) {
    return Usagef("--resume {}: manifest.json has schema '{}', not {}", args.resume, StringField(manifest, "schema"),
                  kRunSchema);
  }
  // Schema checked: the manifest is an object. Its fields may still have been edited.
  const nlohmann::json recorded = manifest.contains("spec") ? manifest["spec"] : nlohmann::json();
  if (StringField(recorded, "sha256").empty() || !recorded.contains("text") || !recorded["text"].is_string()) {
    // `zcbench run -s ... --out DIR` records its command line, not a spec.
    if (manifest.contains("command_line") && manifest["command_line"].is_array() && !manifest["command_line"].empty()) {
      std::vector<std::string> words;
      for (const auto& w : manifest["command_line"]) words.push_back(w.is_string() ? w.get<std::string>() : w.dump());
      return Usagef(
          "--resume {}: this run was started from the command line, not from a spec, and only a spec's run "
          "can be resumed; run it again with another --out folder (it was: {})",
          args.resume, fmt::join(words, " "));
    }
    return Usagef("--resume {}: the manifest does not record the spec; it cannot be resumed", args.resume);
  }
  Loaded loaded;
  if (!args.spec_path.empty()) {
    ZCB_ASSIGN_OR_RETURN(loaded.spec, LoadSpecFile(args.spec_path, catalog));
    if (loaded.spec.sha256 != recorded["sha256"].get<std::string>()) {
      return Usagef(
          "refusing to resume {}: {} has changed since the run started (sha256 {} now, {} recorded). Resume "
          "with the original spec, or leave SPEC out to use the copy in the manifest",
          args.resume, args.spec_path, loaded.spec.sha256, recorded["sha256"].get<std::string>());
    }
  } else {
    const std::string file = StringField(recorded, "path").empty() ? "spec.toml" : StringField(recorded, "path");
    ZCB_ASSIGN_OR_RETURN(loaded.spec, ParseSpec(recorded["text"].get<std::string>(), file, catalog));
  }
  if (!manifest.contains("seed") || !manifest["seed"].is_number_unsigned()) {
    return Usagef("--resume {}: the manifest records no seed", args.resume);
  }
  loaded.seed = manifest["seed"].get<uint64_t>();
  loaded.quick = manifest.contains("run_options") && manifest["run_options"].is_object() &&
                 manifest["run_options"].contains("quick") && manifest["run_options"]["quick"] == true;
  if (args.quick && !loaded.quick) {
    return Usagef("--resume {}: the run was started without --quick; resume it without --quick", args.resume);
  }
  return loaded;
}

// The manifest of a run's end could not be written (the folder is read-only, or full
// beyond its reserve): it keeps the state it had, "running". Said here, because nothing
// else can say it; --resume takes a "running" run whose process is gone (its lock is
// free) as interrupted.
void ReportManifestWrite(const Status& written) {
  if (written.ok()) return;
  fmt::print(stderr,
             "zcbench run: {}\nzcbench run: manifest.json could not be updated and still says \"running\"; "
             "zcbench run --resume takes it as interrupted\n",
             written.error().ToString());
}

// The record the results folder refused, whole, so that nothing measured is dropped
// unseen (its trial also runs again on --resume).
void ReportUnwrittenRecord(const ExecuteResult& result) {
  if (!result.unwritten_record) return;
  fmt::print(stderr, "zcbench run: the unwritten record: {}\n",
             result.unwritten_record->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./=:+,") ==
                        std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Result<ProbeSuite> OpenPlanProbes(const RunPlan& plan) {
  const TrialSettings& trial = plan.spec.trial;
  ZCB_ASSIGN_OR_RETURN(ProbeOptions options, ParseProbeSelection(trial.probes));
  options.cpu_profile_hz = trial.profile_hz;
  options.membw_probe = trial.membw_probe;
  options.membw_cpu = trial.membw_probe_cpu;
  std::set<int> cpus;
  for (const auto& p : plan.points) {
    if (p.measured.spec.sender_cpu) cpus.insert(*p.measured.spec.sender_cpu);
    if (p.measured.spec.receiver_cpu) cpus.insert(*p.measured.spec.receiver_cpu);
  }
  options.trial_cpus.assign(cpus.begin(), cpus.end());
  return ProbeSuite::Open(options);
}

int RunCommandLinePlan(const RunPlan& plan, const CommandLineRunArgs& args) {
  auto probes = OpenPlanProbes(plan);  // loaded once, measured per trial window
  if (!probes.ok()) return Stop(probes.error());
  InstallCleanupSignalHandlers();  // Ctrl-C removes the namespaces and cgroups of the trial in progress
  HandleLeftoversAtRunStart(args.clean);

  std::optional<ResultsStore> store;
  nlohmann::json manifest;
  std::string run_id = "adhoc";
  if (!args.out.empty()) {
    if (auto failed = CreateRunFolder(args.out, store)) return *failed;
    ManifestInputs inputs;
    inputs.run_id = run_id = NewRunId(plan.spec.name);
    inputs.command_line = ProcessCommandLine();
    manifest = NewManifest(plan, inputs);
    if (Status s = store->WriteManifest(manifest); !s.ok()) {
      fmt::print(stderr, "zcbench run: {}\n", s.error().ToString());
      return kExitFailed;
    }
  }

  Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  ExecuteOptions options;
  options.run_id = run_id;
  options.probes = probes->probes();
  if (args.json) {
    options.progress = [](const ProgressEvent& e) {
      fmt::print("{}\n", e.record->ToJson().dump());
      std::fflush(stdout);
    };
  }
  std::vector<TrialRecord> records;
  const ExecuteResult result =
      ExecuteRun(plan, scheduler, store ? &*store : nullptr, 0, 0, RealTrialRunner(), options, records);
  RunCounts counts;
  for (const auto& r : records) counts.Add(r);
  if (store) {
    manifest["state"] = ToString(result.state);
    manifest["ended_at"] = NowIso8601();
    manifest["counts"] = counts.ToJson();
    if (!result.failure.empty()) manifest["failure"] = result.failure;
    ReportManifestWrite(store->WriteManifest(manifest));
    if (Status s = store->WriteCsv(); !s.ok()) fmt::print(stderr, "zcbench run: {}\n", s.error().ToString());
  }
  ReportUnwrittenRecord(result);
  if (!args.json) {
    std::vector<nlohmann::json> rows(records.begin(), records.end());
    fmt::print("{}", FormatSummaryTable(rows));
  }
  for (const TrialRecord& r : records) {
    if (r.status != TrialStatus::kOk) {
      fmt::print(stderr, "zcbench run: {} {}: {}\n", r.params.strategy, ToString(r.status), r.error.value_or(""));
    }
  }
  if (!result.failure.empty()) {
    fmt::print(stderr, "zcbench run: {}\n", result.failure);
    return kExitFailed;
  }
  // A strategy asked for by name that cannot run here is a failure; in a sweep it is a row.
  const bool lone_unsupported = records.size() == 1 && counts.unsupported == 1;
  return counts.error > 0 || lone_unsupported ? kExitFailed : kExitOk;
}

int RunSpec(const SpecRunArgs& args) {
  const SpecCatalog& catalog = SpecCatalog::Registered();
  const bool resuming = !args.resume.empty();
  if (!resuming && args.spec_path.empty()) return Stop(Usagef("give an experiment spec (SPEC.toml) or --resume DIR"));

  // --- the spec and, when resuming, the run so far -----------------------------------
  std::optional<ResultsStore> store;
  Loaded loaded;
  if (resuming) {
    auto opened = ResultsStore::OpenForResume(args.resume, args.dry_run);
    if (!opened.ok()) return Stop(opened.error());
    store.emplace(std::move(*opened));
    const std::string state = StringField(store->existing_manifest(), "state");
    if (state == "complete" && !args.dry_run) {
      fmt::print(stderr, "zcbench run: {} is complete: nothing to resume\n", store->dir());
      return kExitOk;
    }
    auto l = LoadForResume(args, store->existing_manifest(), catalog);
    if (!l.ok()) return Stop(l.error());
    loaded = std::move(*l);
  } else {
    auto spec = LoadSpecFile(args.spec_path, catalog);
    if (!spec.ok()) return Stop(spec.error());
    loaded.spec = std::move(*spec);
    loaded.seed = loaded.spec.seed ? *loaded.spec.seed : DrawSeed();
    loaded.quick = args.quick;
  }
  const std::string spec_path = resuming && args.spec_path.empty() ? loaded.spec.file : args.spec_path;
  auto built = BuildRunPlan(std::move(loaded.spec), catalog, loaded.seed, loaded.quick);
  if (!built.ok()) return Stop(built.error());
  const RunPlan& plan = *built;

  if (args.dry_run) {
    fmt::print("{}", FormatPlan(plan));
    if (resuming) {
      Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
      const ReplayResult replay = ReplayRecords(plan, scheduler, store->existing_records());
      const auto remaining = scheduler.RemainingTrials();
      fmt::print("\nresuming {}: {} trials recorded ({} of points not in this plan); {} to {} still to run\n",
                 store->dir(), replay.replayed, replay.unknown_points, remaining.at_least, remaining.at_most);
    }
    return kExitOk;
  }

  StopSignals stop_signals;
  // A run resumed after kill -9 is the usual owner of leftovers: its namespaces and
  // links are removed (their owner is dead); otherwise they are listed, or removed
  // with --clean.
  HandleLeftoversAtRunStart(args.clean || resuming);
  const std::vector<std::string> command_line = ProcessCommandLine();
  auto probes = OpenPlanProbes(plan);
  if (!probes.ok()) return Stop(std::move(probes).error().Context("probes"));

  // --- the results folder and its manifest -------------------------------------------
  nlohmann::json manifest;
  if (resuming) {
    manifest = store->existing_manifest();
    const nlohmann::json zcbench = ZcbenchInfo();
    const nlohmann::json started_with = manifest.contains("zcbench") && manifest["zcbench"].is_object()
                                            ? manifest["zcbench"].value("git_commit", nlohmann::json())
                                            : nlohmann::json();
    if (zcbench["git_commit"] != started_with) {
      fmt::print(stderr, "zcbench run: note: the run started with zcbench {} and continues with {}\n",
                 started_with.is_string() ? started_with.get<std::string>() : "of unknown commit",
                 zcbench["git_commit"].is_string() ? zcbench["git_commit"].get<std::string>() : "an unknown commit");
    }
    if (!manifest["resumes"].is_array()) manifest["resumes"] = nlohmann::json::array();
    manifest["resumes"].push_back({{"at", NowIso8601()},
                                   {"command_line", command_line},
                                   {"pid", ::getpid()},
                                   {"previous_state", StringField(manifest, "state")},
                                   {"kept_trials", store->existing_records().size()},
                                   {"cut_partial_line_bytes", store->truncated_bytes()},
                                   {"unreadable_lines", store->unreadable_lines().size()},
                                   {"zcbench", zcbench}});
    manifest["state"] = "running";
    manifest["ended_at"] = nullptr;
    manifest["pid"] = ::getpid();
    manifest.erase("resume_command");
    manifest.erase("failure");
  } else {
    std::string run_id = NewRunId(plan.spec.name);
    if (!args.out.empty()) {
      if (auto failed = CreateRunFolder(args.out, store)) return *failed;
    } else {
      // results/<run_id>/, made unique should two runs start within the same second.
      const std::string base_id = run_id;
      for (int attempt = 1;; ++attempt) {
        run_id = attempt == 1 ? base_id : fmt::format("{}-{}", base_id, attempt);
        auto created = ResultsStore::Create(fmt::format("{}/{}", kDefaultResultsRoot, run_id));
        if (created.ok()) {
          store.emplace(std::move(*created));
          break;
        }
        if (created.error().errno_value() != EEXIST || attempt >= 100) {
          fmt::print(stderr, "zcbench run: {}\n", created.error().ToString());
          return kExitFailed;
        }
      }
    }
    ManifestInputs inputs;
    inputs.run_id = run_id;
    inputs.command_line = command_line;
    inputs.fail_fast = args.fail_fast;
    fmt::print(stderr, "zcbench run: {}: {} points; recording the host profile and the paths\n", plan.spec.name,
               plan.points.size());
    manifest = NewManifest(plan, inputs);
  }
  if (Status s = store->WriteManifest(manifest); !s.ok()) {
    fmt::print(stderr, "zcbench run: {}\n", s.error().ToString());
    return kExitFailed;
  }
  const std::string run_id = StringField(manifest, "run_id");

  // --- the trials ----------------------------------------------------------------------
  Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  const ReplayResult replay = ReplayRecords(plan, scheduler, store->existing_records());
  if (resuming) {
    fmt::print(stderr, "zcbench run: resuming {}: {} completed trials kept{}{}\n", store->dir(), replay.replayed,
               store->truncated_bytes() > 0
                   ? fmt::format(", a partial last record ({} bytes) cut off", store->truncated_bytes())
                   : "",
               replay.unknown_points > 0
                   ? fmt::format(", {} records of points not in this plan left as they are", replay.unknown_points)
                   : "");
  }
  RunCounts counts;
  std::vector<nlohmann::json> all_records = store->existing_records();
  for (const auto& r : all_records) counts.Add(r);

  double estimate = 0;
  for (const auto& p : plan.points) estimate += EstimateTrialSeconds(p, false);
  ProgressDisplay progress(stderr, ::isatty(STDERR_FILENO) != 0, estimate / static_cast<double>(plan.points.size()));
  ExecuteOptions options;
  options.run_id = run_id;
  options.fail_fast = args.fail_fast;
  options.cancel = &g_stop;
  options.probes = probes->probes();
  progress.Begin(all_records.size(), scheduler.RemainingTrials());
  options.starting = [&](const PlannedPoint& p, const ScheduledTrial& t) { progress.Starting(p, t); };
  options.progress = [&](const ProgressEvent& e) { progress.Finished(e); };

  std::vector<TrialRecord> new_records;
  ExecuteResult result;
  try {
    result = ExecuteRun(plan, scheduler, *store, replay.next_index, all_records.size(), RealTrialRunner(), options,
                        new_records);
  } catch (const std::exception& e) {
    result.state = RunState::kFailed;
    result.failure = fmt::format("unexpected error: {}", e.what());
  }
  progress.Clear();
  for (const TrialRecord& r : new_records) {
    counts.Add(r);
    all_records.push_back(r.ToJson());
  }

  // --- the end -------------------------------------------------------------------------
  manifest["state"] = ToString(result.state);
  manifest["ended_at"] = NowIso8601();
  manifest["counts"] = counts.ToJson();
  const std::string resume_command = ResumeCommand(spec_path, store->dir());
  if (!result.failure.empty()) manifest["failure"] = result.failure;
  if (result.state != RunState::kComplete) manifest["resume_command"] = resume_command;
  Status manifest_written = store->WriteManifest(manifest);
  Status csv_written = store->WriteCsv();
  ReportUnwrittenRecord(result);

  fmt::print("{}", FormatRunSummary(plan, all_records));
  fmt::print(stderr, "\nzcbench run: {} {}: {} ok, {} errors, {} unsupported, {} warm-up trials; results in {}\n",
             plan.spec.name, ToString(result.state), counts.ok, counts.error, counts.unsupported, counts.warmup,
             store->dir());
  ReportManifestWrite(manifest_written);
  if (!csv_written.ok()) fmt::print(stderr, "zcbench run: trials.csv: {}\n", csv_written.error().ToString());
  switch (result.state) {
    case RunState::kComplete:
      return manifest_written.ok() ? kExitOk : kExitFailed;
    case RunState::kInterrupted:
      if (!result.failure.empty()) {  // the results folder refused a record
        fmt::print(stderr, "zcbench run: stopped: {}\nzcbench run: once the folder is writable, continue with:\n  {}\n",
                   result.failure, resume_command);
        return kExitFailed;
      }
      fmt::print(stderr, "zcbench run: interrupted; the completed trials are kept. Resume with:\n  {}\n",
                 resume_command);
      return kExitInterrupted;
    case RunState::kFailed:
      fmt::print(stderr, "zcbench run: failed: {}\nzcbench run: the completed trials are kept; continue with:\n  {}\n",
                 result.failure, resume_command);
      return kExitFailed;
  }
  return kExitFailed;
}

}  // namespace zcb::cli
