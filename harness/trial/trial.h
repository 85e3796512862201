#pragma once

// One trial: a flow from a SendStrategy to a receiving end over a NetworkPath, measured
// over a window, ending in one TrialRecord (harness/trial/trial_record.h). The runner
// (trial_runner.cc) is the same for every protocol and path: what differs is the
// receiving end (harness/trial/receiving_end.h).

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/probes/window_probe.h"
#include "harness/trial/trial_record.h"
#include "harness/trial/trial_resolve.h"
#include "stack/pattern.h"
#include "stack/registry.h"
#include "stack/result.h"
#include "stack/stream_receiver.h"
#include "stack/types.h"

namespace zcb {

struct TrialContext {
  std::string run_id;
  int trial = 0;
  int repetition = 0;
  bool warmup = false;
  std::string path_name;  // the plan's name of the path (params.path_name); empty outside a plan
  std::vector<WindowProbe*> probes;
  // Set (by a signal handler) to stop the trial early: the sender stops sending, both
  // sides finish normally and every resource is released. The caller drops the record.
  const std::atomic<bool>* cancel = nullptr;
};

// Runs the trial and returns its record. Failures are in the record (status "error",
// or "unsupported" when the strategy cannot run here), never exceptions: a record
// always comes back, with whatever was measured before the failure.
TrialRecord RunTrial(const ResolvedTrial& trial, const TrialContext& context);

}  // namespace zcb
