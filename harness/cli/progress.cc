#include "harness/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "harness/results/summary_table.h"
#include "stack/types.h"

namespace zcb {
namespace {

int TerminalWidth(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 100;
}

std::string PointName(const nlohmann::json& params) {
  if (!params.is_object()) return "?";
  std::string name =
      fmt::format("{} {} {}", params.value("strategy", "?"), FormatSize(params.value("message_size", 0ull)),
                  params.value("path_name", params.value("path", "?")));
  return name;
}

}  // namespace

std::string FormatClock(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

std::string TrialHeadline(const TrialRecord& record) {
  std::string line = PointName(record.params.ToJson());
  if (record.warmup) line += " (warm-up)";
  if (record.status != TrialStatus::kOk || !record.metrics) {
    std::string error = record.error.value_or("");
    if (error.size() > 80) error = error.substr(0, 77) + "...";
    return fmt::format("{}: {} {}", line, ToString(record.status), error);
  }
  const TrialMetrics& m = *record.metrics;
  line += fmt::format(": {}", FormatBitRate(m.goodput_bps));
  // cpu is the CPU probe's object (harness/probes/cpu_accounting.h); ns_per_kib is null
  // when the window had no CPU time to attribute.
  if (m.cpu.is_object() && m.cpu.contains("ns_per_kib") && m.cpu["ns_per_kib"].is_number()) {
    line += fmt::format(", {:.0f} ns/KiB", m.cpu["ns_per_kib"].get<double>());
  }
  if (record.verdict && record.verdict->converged) {
    line += *record.verdict->converged ? " [converged]" : " [not converged]";
  }
  return line;
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool tty, double estimate_s)
    : out_(out), tty_(tty), trial_s_(estimate_s) {}

void ProgressDisplay::Begin(size_t done, const Scheduler::Remaining& remaining) {
  done_ = done;
  remaining_ = remaining;
}

void ProgressDisplay::Starting(const PlannedPoint& point, const ScheduledTrial& trial) {
  current_ =
      fmt::format("{}{}", point.point.label, trial.warmup ? " (warm-up)" : fmt::format(" #{}", trial.repetition + 1));
  if (tty_) Draw();
}

void ProgressDisplay::Finished(const ProgressEvent& event) {
  // An exponentially weighted mean follows a run whose trial lengths change (a path
  // with a longer set-up coming up in the shuffled order) without jumping on one outlier.
  trial_s_ = timed_ ? 0.8 * trial_s_ + 0.2 * event.trial_seconds : event.trial_seconds;
  timed_ = true;
  done_ = event.trials_done;
  remaining_ = event.remaining;
  headline_ = TrialHeadline(*event.record);
  current_.clear();
  if (tty_) {
    Draw();
    return;
  }
  const size_t total = done_ + remaining_.at_least;
  fmt::print(out_, "[{}/{}{}] trial {} {}  (ETA {})\n", done_, total,
             remaining_.at_most > remaining_.at_least ? "+" : "", event.record->trial, headline_,
             FormatClock(trial_s_ * static_cast<double>(remaining_.at_least)));
  std::fflush(out_);
}

void ProgressDisplay::Draw() {
  const size_t total = done_ + remaining_.at_least;
  constexpr int kBar = 20;
  const int filled = total > 0 ? static_cast<int>(kBar * done_ / total) : 0;
  const std::string bar = fmt::format("[{}{}]", std::string(filled, '#'), std::string(kBar - filled, '.'));
  std::string eta = FormatClock(trial_s_ * static_cast<double>(remaining_.at_least));
  if (remaining_.at_most > remaining_.at_least)
    eta += fmt::format(" (up to {})", FormatClock(trial_s_ * static_cast<double>(remaining_.at_most)));
  std::string line = fmt::format(
      "{} {}/{} ETA {}  {}", bar, done_, total, eta,
      current_.empty() ? "last: " + headline_ : "now: " + current_ + (headline_.empty() ? "" : "  last: " + headline_));
  const size_t width = static_cast<size_t>(TerminalWidth(out_) - 1);
  if (line.size() > width) line = line.substr(0, width);
  fmt::print(out_, "\r\033[K{}", line);
  std::fflush(out_);
  drawn_ = true;
}

void ProgressDisplay::Clear() {
  if (tty_ && drawn_) {
    fmt::print(out_, "\r\033[K");
    std::fflush(out_);
    drawn_ = false;
  }
}

}  // namespace zcb
