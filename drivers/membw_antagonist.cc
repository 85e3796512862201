#include "drivers/membw_antagonist.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>

#include <fmt/format.h>

namespace zcb {
namespace {

// Copies in slices, so that Stop() is noticed within a fraction of a millisecond.
constexpr size_t kSlice = 1 << 20;

}  // namespace

Result<std::unique_ptr<MemoryBandwidthAntagonist>> MemoryBandwidthAntagonist::Start(const std::vector<int>& cpus,
                                                                                    uint64_t buffer_bytes) {
  if (cpus.empty()) return Errorf("memory-bandwidth antagonist: no CPU given");
  if (buffer_bytes < 2 * kSlice) return Errorf("memory-bandwidth antagonist: the buffer must be at least 2 MiB");
  std::unique_ptr<MemoryBandwidthAntagonist> a(new MemoryBandwidthAntagonist());
  a->buffer_bytes_ = RoundUp(buffer_bytes, 2 * kSlice);
  for (int cpu : cpus) {
    auto worker = std::make_unique<Worker>();
    worker->cpu = cpu;
    ZCB_ASSIGN_OR_RETURN(worker->buffer, MappedRegion::Anonymous(a->buffer_bytes_));
    std::memset(worker->buffer.data(), 0x5a, worker->buffer.size());  // fault every page in now, not in the window
    a->workers_.push_back(std::move(worker));
  }
  a->started_ = std::chrono::steady_clock::now();
  for (auto& w : a->workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([a = a.get(), worker] { a->Run(*worker); });
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(worker->cpu, &set);
    if (int rc = ::pthread_setaffinity_np(worker->thread.native_handle(), sizeof set, &set); rc != 0) {
      a->Stop();
      return Error(rc, fmt::format("memory-bandwidth antagonist: pin a thread to CPU {}", worker->cpu));
    }
  }
  return a;
}

void MemoryBandwidthAntagonist::Run(Worker& worker) {
  uint8_t* base = worker.buffer.data();
  const size_t half = worker.buffer.size() / 2;
  size_t offset = 0;
  uint64_t local = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    // Half A -> half B, slice by slice: every byte is read once and written once.
    std::memcpy(base + half + offset, base + offset, kSlice);
    local += 2 * kSlice;
    offset = (offset + kSlice) % half;
    worker.bytes.store(local, std::memory_order_relaxed);
  }
}

void MemoryBandwidthAntagonist::Stop() {
  if (stop_.exchange(true)) return;
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  stopped_ = std::chrono::steady_clock::now();
}

MemoryBandwidthAntagonist::~MemoryBandwidthAntagonist() { Stop(); }

nlohmann::json MemoryBandwidthAntagonist::Report() const {
  const auto end = stop_.load() ? stopped_ : std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(end - started_).count();
  uint64_t total = 0;
  nlohmann::json cpus = nlohmann::json::array();
  for (const auto& w : workers_) {
    total += w->bytes.load();
    cpus.push_back(w->cpu);
  }
  return {
      // Not a bandwidth limit: competing threads, which leave the trial whatever the memory
      // controller gives it besides them (resctrl MB, --membw-limit, enforces a ceiling).
      {"method", "emulation"},
      {"emulates", "a memory-starved host: threads that stream memory on other CPUs, competing for DRAM bandwidth"},
      {"cpus", cpus},
      {"buffer_bytes", buffer_bytes_},
      {"bytes_streamed", total},
      {"seconds", seconds},
      {"bandwidth_bytes_per_s", seconds > 0 ? static_cast<double>(total) / seconds : 0.0},
  };
}

}  // namespace zcb
