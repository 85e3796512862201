#pragma once

// One trial: a stream from a SendStrategy to a receiver over a NetworkPath, measured
// over a window, ending in one record (the zcbench.trial schema, results/README.md).

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/probes/window_probe.h"
#include "harness/trial_resolve.h"
#include "stack/pattern.h"
#include "stack/registry.h"
#include "stack/result.h"
#include "stack/stream_receiver.h"
#include "stack/types.h"

namespace zcb {

// The record schema this harness writes. Version 2: cpu.ns_per_kib is the trial's own
// CPU (thread clocks plus softirq work outside them); version 1's system-wide /proc/stat
// figure moved to cpu.system_wide.
inline constexpr const char* kTrialSchema = "zcbench.trial/2";

struct TrialContext {
  std::string run_id;
  int trial = 0;
  int repetition = 0;
  bool warmup = false;
  std::vector<WindowProbe*> probes;
  // Set (by a signal handler) to stop the trial early: the sender stops sending, both
  // sides finish normally and every resource is released. The caller drops the record.
  const std::atomic<bool>* cancel = nullptr;
};

// Runs the trial and returns its record. Failures are in the record (status "error",
// or "unsupported" when the strategy cannot run here), never exceptions: a record
// always comes back, with whatever was measured before the failure.
nlohmann::json RunTrial(const ResolvedTrial& trial, const TrialContext& context);

// The record's params object.
nlohmann::json TrialParamsJson(const ResolvedTrial& trial);

// A TCP receiver's settings as params.receiver_settings holds them.
nlohmann::json ReceiverSettingsJson(const ReceiverSettings& settings);

}  // namespace zcb
