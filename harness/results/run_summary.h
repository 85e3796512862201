#pragma once

// The table printed at the end of a spec run: one row per point (not per trial), with
// the mean goodput and its confidence interval, the mean CPU cost per KiB, how many
// repetitions it took and whether it converged. The full picture is the analysis
// report; this is what a terminal can show.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plan/run_plan.h"

namespace zcb {

std::string FormatRunSummary(const RunPlan& plan, const std::vector<nlohmann::json>& records);

}  // namespace zcb
