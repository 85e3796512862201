#pragma once

// The run's manifest.json (schema zcbench.run/1): what ran, where, with what, and how
// it ended. Written when the run starts (state "running"), after each resume, and when
// it stops (complete | interrupted | failed).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plan/run_plan.h"

namespace zcb {

inline constexpr const char* kRunSchema = "zcbench.run/1";

struct ManifestInputs {
  std::string run_id;
  std::vector<std::string> command_line;
  bool fail_fast = false;
  std::string results_root;
};

// A new manifest in state "running": spec, versions, build, host profile, the plan and
// a description of every path the plan uses (set up once to read its interfaces).
nlohmann::json NewManifest(const RunPlan& plan, const ManifestInputs& inputs);

// paths: {name: {description, interfaces: [...]}} for the paths of the plan's points.
nlohmann::json DescribePlanPaths(const RunPlan& plan);

// The plan's points, left-out combinations and exclusions, for the manifest.
nlohmann::json PlanJson(const RunPlan& plan);

// This process's command line, from /proc/self/cmdline.
std::vector<std::string> ProcessCommandLine();

// "<name>-<UTC yyyymmddThhmmssZ>", the name reduced to [A-Za-z0-9._-].
std::string NewRunId(const std::string& experiment_name);

}  // namespace zcb
