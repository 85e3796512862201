#pragma once

// The co-running memory-bandwidth probe (--membw-probe): a thread on a spare CPU that
// streams copies through a buffer much larger than the last-level cache and reports the
// copy bandwidth it achieves while a trial runs, against the bandwidth it achieved on
// an idle machine (measured once when the probe starts). A drop says the trial took
// memory bandwidth from its neighbours; this is how a memory-bandwidth-starved host
// feels a strategy's copies.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "stack/mapped_region.h"
#include "stack/result.h"

namespace zcb {

class BandwidthCoRunner {
 public:
  // Starts the thread pinned to `cpu` and measures the idle baseline for `baseline_s`.
  static Result<std::unique_ptr<BandwidthCoRunner>> Start(int cpu, double baseline_s = 0.5);
  ~BandwidthCoRunner();
  BandwidthCoRunner(const BandwidthCoRunner&) = delete;
  BandwidthCoRunner& operator=(const BandwidthCoRunner&) = delete;

  // Starts streaming (quick: the thread is already running, parked).
  void Begin();
  // Stops streaming and records the window's bandwidth.
  void End();
  // {cpu, buffer_bytes, baseline_copy_bytes_per_s, window_copy_bytes_per_s, ratio}.
  nlohmann::json Report() const;

  int cpu() const { return cpu_; }
  double baseline_bytes_per_s() const { return baseline_; }
  double window_bytes_per_s() const { return window_; }

 private:
  enum State : int { kParked, kRunning, kStop };
  BandwidthCoRunner(int cpu, MappedRegion buffer) : cpu_(cpu), buffer_(std::move(buffer)) {}
  void Loop();
  // Runs one streaming phase of about `seconds` from the calling thread (the baseline).
  double Measure(double seconds);

  int cpu_;
  MappedRegion buffer_;
  std::thread thread_;
  std::atomic<int> state_{kParked};
  std::atomic<uint64_t> phases_started_{0};  // bumped by the thread when it starts streaming
  std::atomic<uint64_t> phases_done_{0};     // bumped by the thread after each streaming phase
  uint64_t phase_bytes_ = 0;                 // written by the thread before bumping phases_done_
  double phase_seconds_ = 0;
  double baseline_ = 0;
  double window_ = 0;
  std::string error_;
};

}  // namespace zcb
