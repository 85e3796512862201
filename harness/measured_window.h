#pragma once

// What every trial flow (TCP stream, UDP datagrams, remote receiver) does the same way
// around its threads: open the measured window (probes, /proc/stat, the start time),
// release the threads, close the window when they are done; the sender's paced loop
// over the message stream; and the parts of the record built from a window.

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/host_constraints.h"
#include "drivers/network_path.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/probes/window_probe.h"
#include "harness/trial.h"
#include "harness/trial_common.h"
#include "stack/payload.h"
#include "stack/send_strategy.h"

namespace zcb {

using TrialClock = std::chrono::steady_clock;

// What a sender or receiver thread reports back to the controlling thread.
struct SideOutcome {
  Status setup = OkStatus();  // sockets, path side, pinning, the strategy
  Status run = OkStatus();    // the measured part
  SideCpu cpu;                // the thread's own CPU time over its run (and its io_uring workers')
  int tid = 0;
  nlohmann::json tcp_congestion;  // the TCP sender's TcpCongestionJson (null: not a TCP sender, or no socket)
};

// The window's edges as measured on the controlling thread.
struct MeasuredWindow {
  TrialClock::time_point start{};
  TrialClock::time_point end{};
  std::optional<CpuSnapshot> cpu_before, cpu_after;  // nullopt: /proc/stat unreadable
  uint64_t process_cpu_before_ns = 0, process_cpu_after_ns = 0;
  // /proc/self/io read_bytes at the edges (nullopt: unreadable): bytes the process had
  // read from the storage layer.
  std::optional<uint64_t> device_read_before, device_read_after;
  std::vector<std::string> probe_errors;

  // The cpu record of the window, completed by ReportProbes (FinishTrialCpu).
  nlohmann::json CpuJson(const TrialCpuParts& parts, uint64_t bytes_delivered) const;
};

// The trial's CPU parts when its sender and receiver both ran on this host.
TrialCpuParts LocalTrialCpu(const SideOutcome& sender, const SideOutcome& receiver);

// Opens the window (when `measure` is false, because a side failed its set-up, the
// probes are left alone; otherwise they are told `trial_tids`, the trial's threads),
// calls `release(start)` to let the threads go, `join()` to wait for them, and closes it.
MeasuredWindow RunMeasuredWindow(const TrialContext& context, bool measure, const std::vector<int>& trial_tids,
                                 const std::function<void(TrialClock::time_point)>& release,
                                 const std::function<void()>& join);

// The rendezvous of a trial's threads (a sender, and a receiver when it runs here) with
// the controlling thread: each side sets up, arrives, and runs only once the window is
// open; a side whose set-up failed aborts the trial, and the others return at once.
class WindowGate {
 public:
  WindowGate(int sides, const std::atomic<bool>* cancel) : ready_(sides), cancel_(cancel) {}

  // A side (on its own thread): reports its set-up and waits for the window. True: run now.
  bool Arrive(const Status& setup) {
    if (!setup.ok()) abort_ = true;
    {
      std::lock_guard<std::mutex> lock(tids_mutex_);
      tids_.push_back(CurrentTid());
    }
    ready_.count_down();
    start_.wait();
    return setup.ok() && !abort_.load();
  }
  // A side failed its set-up (for a side still setting up, e.g. waiting to accept).
  bool aborted() const { return abort_.load(); }
  // Valid once Arrive() returned true: the window's start, the origin of pacing.
  TrialClock::time_point window_start() const { return window_start_; }
  // TrialContext::cancel: stop sending early.
  const std::atomic<bool>* cancel() const { return cancel_; }

  // The controlling thread: waits for every side to arrive, opens the measured window
  // (probes only when every set-up succeeded), joins `threads` and closes it.
  MeasuredWindow Run(const TrialContext& context, std::initializer_list<std::thread*> threads) {
    ready_.wait();
    return RunMeasuredWindow(
        context, !abort_.load(), tids_,
        [&](TrialClock::time_point start) {
          window_start_ = start;
          start_.count_down();
        },
        [&] {
          for (std::thread* t : threads) t->join();
        });
  }

 private:
  std::latch ready_;
  std::latch start_{1};
  std::atomic<bool> abort_{false};
  std::mutex tids_mutex_;
  std::vector<int> tids_;  // the sides' threads, complete once every side arrived
  TrialClock::time_point window_start_{};
  const std::atomic<bool>* cancel_;
};

// The sender's loop: message_size pieces of the stream until spec.bytes are sent or
// spec.duration_s has passed since `start`; paced to spec.rate_bps when set (sleeping
// when ahead of schedule, as iperf3 -b); stops early when `cancel` is set; tells
// `payload` of each message first (a cold file is dropped again at each pass). Ends with
// the strategy's Finish(); `sends_done` (optional) gets the time the last Send() returned,
// before Finish() waited for the last completions.
Status SendPaced(SendStrategy& strategy, Payload& payload, const TrialSpec& spec, TrialClock::time_point start,
                 const std::atomic<bool>* cancel, TrialClock::time_point* sends_done = nullptr);

// The payload a trial sends from: its source, message size, file and working set.
PayloadConfig PayloadConfigFor(const ResolvedTrial& trial);

// The record's `payload` object: the working set the sends cycled through and why that
// size, the host's last-level cache, passes over it, and the bytes read from the device.
nlohmann::json PayloadJson(const ResolvedTrial& trial, const Payload& payload, const MeasuredWindow& window, uint64_t bytes_sent);

// A record as every flow starts it: identity, params, point, status ok, no metrics yet.
nlohmann::json NewTrialRecord(const ResolvedTrial& trial, const TrialContext& context);

// What the probes are told about a window (the memory model needs the strategy's
// capabilities and completion counts, never its name).
WindowSummary SummarizeWindow(const ResolvedTrial& trial, double elapsed_s, uint64_t bytes_received, const SendStats& sent,
                              int sender_tid, int receiver_tid);

// Lets every probe add its results, and records the probes' own errors.
void ReportProbes(const TrialContext& context, const WindowSummary& summary, const MeasuredWindow& window,
                  nlohmann::json& metrics);

// After the window: stops the host constraints and records what the path and they were
// (offloads read back, qdisc counters as they are now).
void RecordPathAndConstraints(nlohmann::json& record, const NetworkPath& path, HostConstraints* constraints);

// True when the trial asked to rewrite lent buffers early (unsafe_reuse): corruption the
// receiver finds is then the expected result, recorded, not a failed trial.
bool BreaksReuseRuleOnPurpose(const ResolvedTrial& trial);

}  // namespace zcb
