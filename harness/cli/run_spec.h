#pragma once

// zcbench run SPEC.toml [--out DIR] [--dry-run] [--resume DIR] [--fail-fast] [--quick]:
// an experiment from a spec, into results/<run_id>/.

#include <string>

#include "harness/plan/run_plan.h"
#include "harness/probes/probe_suite.h"

namespace zcb::cli {

struct SpecRunArgs {
  std::string spec_path;  // empty with --resume: the spec recorded in the manifest
  std::string out;        // the run folder; empty: results/<run_id>/
  std::string resume;     // a run folder to continue
  bool dry_run = false;
  bool fail_fast = false;
  bool quick = false;
  bool clean = false;  // first remove what killed runs left behind (--clean)
};

// Returns the exit code: 0 complete, 1 failed (or a trial failed with --fail-fast),
// 2 bad usage or spec, 130 interrupted (Ctrl-C, SIGTERM or SIGHUP; resumable).
int RunSpec(const SpecRunArgs& args);

inline constexpr int kExitInterrupted = 130;

// `s` as one shell word (quoted only when it needs to be), for the commands the runs print.
std::string ShellQuote(const std::string& s);

// `zcbench run -s ...` once its trials are planned (BuildCommandLinePlan): the same run
// path as a spec's (probes opened once for all trials, records built, converged and,
// with `out`, stored in a run folder with its manifest and CSV). stdout shows the
// one-line table, or with `json` exactly the records, one per line, as they finish.
struct CommandLineRunArgs {
  bool json = false;
  bool clean = false;
  std::string out;  // a run folder to create; empty: the records are not stored
};
// Returns 0, or 1 when a trial failed or the one strategy asked for cannot run here.
int RunCommandLinePlan(const RunPlan& plan, const CommandLineRunArgs& args);

// The window probes of a plan, opened once for all its trials ([trial] probes,
// profile_hz, membw_probe, membw_probe_cpu), knowing the trials' CPUs.
Result<ProbeSuite> OpenPlanProbes(const RunPlan& plan);

}  // namespace zcb::cli
