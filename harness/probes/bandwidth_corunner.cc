#include "harness/probes/bandwidth_corunner.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

// Copies per step: large enough to stream, small enough to notice a state change fast.
constexpr size_t kChunk = 1 << 20;
// The buffer holds a source and a destination half; each half is at least this big and
// at least four times the last-level cache.
constexpr size_t kMinHalf = 64u << 20;

size_t LastLevelCacheBytes() {
  size_t largest = 0;
  for (int index = 0; index < 8; ++index) {
    std::ifstream in(fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/size", index));
    std::string text;
    if (!in || !std::getline(in, text)) continue;
    size_t value = std::strtoull(text.c_str(), nullptr, 10);
    if (text.find('K') != std::string::npos) value <<= 10;
    if (text.find('M') != std::string::npos) value <<= 20;
    largest = std::max(largest, value);
  }
  return largest;
}

}  // namespace

Result<std::unique_ptr<BandwidthCoRunner>> BandwidthCoRunner::Start(int cpu, double baseline_s) {
  const size_t half = RoundUp(std::max(kMinHalf, 4 * LastLevelCacheBytes()), kChunk);
  ZCB_ASSIGN_OR_RETURN(MappedRegion buffer, MappedRegion::Anonymous(2 * half));
  // Touch every page now so that no page fault lands in a window.
  std::memset(buffer.data(), 1, buffer.size());
  std::unique_ptr<BandwidthCoRunner> runner(new BandwidthCoRunner(cpu, std::move(buffer)));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  runner->thread_ = std::thread(&BandwidthCoRunner::Loop, runner.get());
  if (const int err = pthread_setaffinity_np(runner->thread_.native_handle(), sizeof set, &set); err != 0) {
    runner->state_ = kStop;
    runner->state_.notify_all();
    return Error(err, fmt::format("pin the memory-bandwidth probe to CPU {}", cpu));
  }
  runner->baseline_ = runner->Measure(baseline_s);
  return runner;
}

BandwidthCoRunner::~BandwidthCoRunner() {
  state_ = kStop;
  state_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BandwidthCoRunner::Loop() {
  const size_t half = buffer_.size() / 2;
  auto* src = static_cast<uint8_t*>(buffer_.data());
  uint8_t* dst = src + half;
  for (;;) {
    state_.wait(kParked);
    const int state = state_.load();
    if (state == kStop) return;
    if (state != kRunning) continue;
    const Clock::time_point start = Clock::now();
    phases_started_.fetch_add(1);
    phases_started_.notify_all();
    uint64_t bytes = 0;
    size_t offset = 0;
    while (state_.load(std::memory_order_relaxed) == kRunning) {
      std::memcpy(dst + offset, src + offset, kChunk);
      bytes += kChunk;
      offset = offset + kChunk >= half ? 0 : offset + kChunk;
    }
    phase_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
    phase_bytes_ = bytes;
    phases_done_.fetch_add(1);
    phases_done_.notify_all();
  }
}

void BandwidthCoRunner::Begin() {
  const uint64_t started = phases_started_.load();
  state_ = kRunning;
  state_.notify_all();
  // Returns once the thread streams, so that End() always closes a phase.
  phases_started_.wait(started);
}

void BandwidthCoRunner::End() {
  const uint64_t done = phases_done_.load();
  state_ = kParked;
  phases_done_.wait(done);
  window_ = phase_seconds_ > 0 ? static_cast<double>(phase_bytes_) / phase_seconds_ : 0;
}

double BandwidthCoRunner::Measure(double seconds) {
  Begin();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  End();
  return window_;
}

nlohmann::json BandwidthCoRunner::Report() const {
  return {
      {"cpu", cpu_},
      {"buffer_bytes", buffer_.size()},
      {"baseline_copy_bytes_per_s", baseline_},
      {"window_copy_bytes_per_s", window_},
      // Each copied byte is read once and written once.
      {"baseline_traffic_bytes_per_s", 2 * baseline_},
      {"window_traffic_bytes_per_s", 2 * window_},
      {"ratio", baseline_ > 0 ? nlohmann::json(window_ / baseline_) : nlohmann::json(nullptr)},
  };
}

}  // namespace zcb
