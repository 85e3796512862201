#pragma once

// A memory-bandwidth antagonist, to emulate a memory-starved host: one thread per chosen
// CPU, each copying between the two halves of its own buffer (larger than the caches,
// so every copy goes to DRAM) until stopped. The report says how much it streamed: the
// pressure the trial ran under.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/mapped_region.h"
#include "stack/result.h"

namespace zcb {

class MemoryBandwidthAntagonist {
 public:
  // Starts one streaming thread per CPU in `cpus`, each with `buffer_bytes` of memory
  // (faulted in before this returns).
  static Result<std::unique_ptr<MemoryBandwidthAntagonist>> Start(const std::vector<int>& cpus, uint64_t buffer_bytes);
  ~MemoryBandwidthAntagonist();

  // Stops the threads (idempotent); Report() then covers the whole run.
  void Stop();

  // cpus, buffer size, bytes read + written, seconds, bytes per second.
  nlohmann::json Report() const;

 private:
  struct Worker {
    int cpu = 0;
    MappedRegion buffer;
    std::atomic<uint64_t> bytes{0};
    std::thread thread;
  };
  MemoryBandwidthAntagonist() = default;
  void Run(Worker& worker);

  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point started_, stopped_;
  uint64_t buffer_bytes_ = 0;
  std::string pin_error_;
};

}  // namespace zcb
