#pragma once

// A WindowProbe measures something over a trial's measured window: it is begun just
// before the first byte is sent and ended right after the last byte is received, and
// then adds what it measured to the record's `metrics`. CPU accounting is built into
// the trial runner; eBPF tracepoints, hardware counters and memory traffic are probes.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/types.h"

namespace zcb {

// What a probe may need to turn counts into per-byte figures.
struct WindowSummary {
  double elapsed_s = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  int sender_tid = 0;
  int receiver_tid = 0;
  // What the memory-traffic model needs to know about the trial (never its strategy's
  // name): the protocol, the payload source, the receiver mode, the strategy's declared
  // capabilities and its zero-copy completion counts.
  Protocol protocol = Protocol::kTcp;
  SourceKind source = SourceKind::kMemory;
  ReceiverMode receiver_mode = ReceiverMode::kVerify;
  Capabilities caps;
  ZeroCopyStats zerocopy;
  // False when the receiver runs on another host: its copies are not this host's to count.
  bool receiver_local = true;
};

class WindowProbe {
 public:
  virtual ~WindowProbe() = default;
  // Called before Begin() with the thread IDs of the trial's own threads (its sender and
  // receiver), for a probe that attributes events to them rather than to the process.
  virtual void WatchTrialThreads(const std::vector<int>& tids) { (void)tids; }
  // Called on the controlling thread just before the window opens. Must be quick.
  virtual Status Begin() = 0;
  // Called just after the window closes.
  virtual Status End() = 0;
  // Adds this probe's results to `metrics` (e.g. metrics["probes"]). A probe that could
  // not measure writes null with a reason instead of failing the trial.
  virtual void Report(const WindowSummary& summary, nlohmann::json& metrics) = 0;
};

}  // namespace zcb
