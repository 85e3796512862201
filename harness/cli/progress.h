#pragma once

// The run's progress on stderr: on a terminal, one line redrawn in place (a bar, trials
// done, the ETA and the last trial's headline); otherwise one plain line per trial, so
// that logs and CI output stay readable.

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/plan/experiment_run.h"

namespace zcb {

// "write 64K loopback: ok 21.44 Gbit/s, 516 ns/KiB" for a record.
std::string TrialHeadline(const TrialRecord& record);

// "1:05", "1:02:03"
std::string FormatClock(double seconds);

class ProgressDisplay {
 public:
  // `tty`: redraw one line in place. `estimate_s`: the plan's estimate of one trial,
  // used until real trials have been timed.
  ProgressDisplay(std::FILE* out, bool tty, double estimate_s);
  ~ProgressDisplay() { Clear(); }

  // The state before the first trial: trials already recorded (a resume) and to come.
  void Begin(size_t done, const Scheduler::Remaining& remaining);
  void Starting(const PlannedPoint& point, const ScheduledTrial& trial);
  void Finished(const ProgressEvent& event);
  // Erases the in-place line, so that other output starts on a clean line.
  void Clear();

 private:
  void Draw();

  std::FILE* out_;
  bool tty_;
  double trial_s_;      // running estimate of one trial's wall time
  bool timed_ = false;  // trial_s_ comes from measurements
  size_t done_ = 0;
  Scheduler::Remaining remaining_;
  std::string headline_;
  std::string current_;
  bool drawn_ = false;
};

}  // namespace zcb
