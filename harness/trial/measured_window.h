#pragma once

// The measured window of a trial: the rendezvous of its threads (WindowGate), opening
// the window (probes, /proc/stat, the start time), releasing the threads, closing it
// when they are done. (The sender's loop is the workload's: workloads/workload.h.)

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

#include "harness/probes/cpu_accounting.h"
#include "harness/probes/window_probe.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_threads.h"
#include "workloads/send_loop.h"

namespace zcb {

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

  // The cpu record of the window, completed once the probes reported (FinishTrialCpu).
  nlohmann::json CpuJson(const TrialCpuParts& parts, uint64_t bytes_delivered) const;
};

// Opens the window (when `measure` is false, because a side failed its set-up, the
// probes are left alone; otherwise they are told `trial_tids`, the trial's threads),
// calls `release(start)` to let the threads go, `join()` to wait for them, and closes it.
MeasuredWindow RunMeasuredWindow(const TrialContext& context, bool measure, const std::vector<int>& trial_tids,
                                 const std::function<void(TrialClock::time_point)>& release,
                                 const std::function<void()>& join);

// The rendezvous of a trial's threads (per stream a sender, and a receiver when it runs
// here) with the controlling thread: each side sets up, arrives, and runs only once the
// window is open; a side whose set-up failed aborts the trial, and the others return at once.
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
    return Run(context, std::vector<std::thread*>(threads));
  }
  MeasuredWindow Run(const TrialContext& context, const std::vector<std::thread*>& threads) {
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

}  // namespace zcb
