#include "harness/run_summary.h"

#include <map>

#include <fmt/format.h>

#include "harness/scheduler.h"
#include "harness/summary_table.h"
#include "stack/types.h"

namespace zcb {

std::string FormatRunSummary(const RunPlan& plan, const std::vector<nlohmann::json>& records) {
  struct Row {
    std::vector<double> goodput, cpu;
    size_t trials = 0, errors = 0;
    std::optional<bool> converged;
    std::string status_note;
  };
  std::map<std::string, Row> rows;
  for (const auto& r : records) {
    if (r.value("warmup", false) || !r.contains("point") || !r["point"].is_string()) continue;
    Row& row = rows[r["point"].get<std::string>()];
    ++row.trials;
    const std::string status = r.value("status", "");
    if (r.contains("converged") && r["converged"].is_boolean()) row.converged = r["converged"].get<bool>();
    if (status != "ok") {
      ++row.errors;
      if (r["error"].is_string()) row.status_note = status + ": " + r["error"].get<std::string>();
      continue;
    }
    const auto& m = r["metrics"];
    if (m.contains("goodput_bps") && m["goodput_bps"].is_number()) row.goodput.push_back(m["goodput_bps"].get<double>());
    if (m.contains("cpu") && m["cpu"].is_object() && m["cpu"]["ns_per_kib"].is_number()) {
      row.cpu.push_back(m["cpu"]["ns_per_kib"].get<double>());
    }
  }

  const double confidence = plan.policy.confidence;
  std::string out = fmt::format("{:<18} {:<9} {:>6} {:<12} {:<8} {:>5} {:>14} {:>9} {:>10} {}\n", "strategy", "source",
                                "size", "path", "receiver", "reps", "goodput", fmt::format("+-{:g}%", confidence * 100),
                                "ns/KiB", "converged");
  std::vector<std::string> notes;
  for (const auto& p : plan.points) {
    const TrialSpec& s = p.measured.spec;
    auto it = rows.find(p.key);
    const Row empty;
    const Row& row = it != rows.end() ? it->second : empty;
    std::string goodput = "-", interval = "-", cpu = "-", converged = "-";
    if (!row.goodput.empty()) {
      double sum = 0;
      for (double v : row.goodput) sum += v;
      goodput = FormatBitRate(sum / static_cast<double>(row.goodput.size()));
      if (auto ci = ConfidenceInterval(row.goodput, confidence)) interval = fmt::format("{:.1f}%", ci->Relative() * 100);
    }
    if (!row.cpu.empty()) {
      double sum = 0;
      for (double v : row.cpu) sum += v;
      cpu = fmt::format("{:.0f}", sum / static_cast<double>(row.cpu.size()));
    }
    if (row.converged) converged = *row.converged ? "yes" : "no";
    else if (row.trials == 0) converged = "not run";
    else if (!row.status_note.empty() && row.goodput.empty()) converged = row.status_note.substr(0, row.status_note.find(':'));
    out += fmt::format("{:<18} {:<9} {:>6} {:<12} {:<8} {:>5} {:>14} {:>9} {:>10} {}\n", s.strategy,
                       ToString(p.measured.source), FormatSize(s.message_size), p.point.path_name, ToString(s.receiver),
                       fmt::format("{}/{}", row.trials - row.errors, row.trials), goodput, interval, cpu, converged);
    if (!row.status_note.empty()) notes.push_back(fmt::format("  {}: {}", p.point.label, row.status_note));
  }
  if (!notes.empty()) {
    out += "\nfailures and unsupported points:\n";
    for (const auto& n : notes) out += n + "\n";
  }
  return out;
}

}  // namespace zcb
