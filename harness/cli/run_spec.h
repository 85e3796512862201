#pragma once

// zcbench run SPEC.toml [--out DIR] [--dry-run] [--resume DIR] [--fail-fast] [--quick]:
// an experiment from a spec, into results/<run_id>/.

#include <string>

namespace zcb::cli {

struct SpecRunArgs {
  std::string spec_path;      // empty with --resume: the spec recorded in the manifest
  std::string out;             // the run folder; empty: results/<run_id>/
  std::string resume;         // a run folder to continue
  bool dry_run = false;
  bool fail_fast = false;
  bool quick = false;
  bool clean = false;         // first remove what killed runs left behind (--clean)
};

// Returns the exit code: 0 complete, 1 failed (or a trial failed with --fail-fast),
// 2 bad usage or spec, 130 interrupted (Ctrl-C / SIGTERM; resumable).
int RunSpec(const SpecRunArgs& args);

inline constexpr int kExitInterrupted = 130;

}  // namespace zcb::cli
