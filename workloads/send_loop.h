#pragma once

// The sender's paced loop over a message stream, shared by the workloads that send one
// long stream of pattern bytes (bulk): message_size pieces until `bytes` are sent or
// `duration_s` has passed since the window's start, paced to `rate_bps` when set.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>

#include "stack/result.h"
#include "stack/send_strategy.h"
#include "workloads/payload_source.h"

namespace zcb {

// The clock of a trial: the measured window's edges, pacing and the send loop's deadline.
using TrialClock = std::chrono::steady_clock;

// When the loop stops and how fast it goes (from the trial's parameters).
struct SendSchedule {
  uint64_t message_size = 0;         // bytes per Send() (the last one may be shorter)
  std::optional<uint64_t> bytes;     // stop after this many bytes (nullopt: no byte limit)
  std::optional<double> duration_s;  // stop once this long has passed since the start
  uint64_t rate_bps = 0;             // pace to this rate (bits/s); 0: as fast as the strategy goes
};

// Unpaced, the clock is read once per kClockReadInterval bytes sent, not per message: for
// small messages a read per message is a visible share of the sender's CPU that no peer
// pays. Paced, it is read after every message.
inline constexpr uint64_t kClockReadInterval = 64 * 1024;

// The loop, over any clock with a static now() (a test's clock counts its reads). Sends
// from offset 0 on; tells `payload` of each message first (a cold file is dropped again at
// each pass); sleeps while ahead of the rate's schedule, measured from `start` (as iperf3
// -b); stops early when `cancel` is set. Ends with the strategy's Finish(); `sends_done`
// (optional) gets the time the last Send() returned, before Finish() waited for the last
// completions.
template <typename Clock>
Status SendPacedWith(SendStrategy& strategy, PayloadSource& payload, const SendSchedule& schedule,
                     typename Clock::time_point start, const std::atomic<bool>* cancel,
                     typename Clock::time_point* sends_done = nullptr) {
  using TimePoint = typename Clock::time_point;
  const uint64_t total = schedule.bytes.value_or(UINT64_MAX);
  const TimePoint deadline = schedule.duration_s ? start + std::chrono::duration_cast<typename Clock::duration>(
                                                               std::chrono::duration<double>(*schedule.duration_s))
                                                 : TimePoint::max();
  const double ns_per_byte = schedule.rate_bps > 0 ? 8e9 / static_cast<double>(schedule.rate_bps) : 0;
  const uint64_t clock_every = ns_per_byte > 0 ? 1 : kClockReadInterval;
  uint64_t offset = 0;
  uint64_t next_clock = 0;
  while (offset < total) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(schedule.message_size, total - offset));
    ZCB_RETURN_IF_ERROR(payload.BeforeSend(offset));
    ZCB_RETURN_IF_ERROR(strategy.Send(offset, len));
    offset += len;
    if (offset < next_clock) continue;
    next_clock = offset + clock_every;
    const TimePoint now = Clock::now();
    if (now >= deadline) break;
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) break;
    if (ns_per_byte > 0) {
      // Sleep while ahead of the target rate's schedule, measured from the window's start.
      const auto due = start + std::chrono::duration_cast<typename Clock::duration>(std::chrono::nanoseconds(
                                   static_cast<int64_t>(static_cast<double>(offset) * ns_per_byte)));
      if (due > now) std::this_thread::sleep_until(due);
    }
  }
  if (sends_done != nullptr) *sends_done = Clock::now();
  return strategy.Finish();
}

// The loop on the trial's clock.
inline Status SendPaced(SendStrategy& strategy, PayloadSource& payload, const SendSchedule& schedule,
                        TrialClock::time_point start, const std::atomic<bool>* cancel,
                        TrialClock::time_point* sends_done = nullptr) {
  return SendPacedWith<TrialClock>(strategy, payload, schedule, start, cancel, sends_done);
}

}  // namespace zcb
