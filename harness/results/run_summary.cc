#include "harness/results/run_summary.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "harness/plan/scheduler.h"
#include "harness/results/summary_table.h"
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
  // Records may come from disk (a resumed run): every field is looked up, never assumed.
  auto at = [](const nlohmann::json& r, const char* pointer) -> const nlohmann::json* {
    const nlohmann::json::json_pointer p(pointer);
    return r.is_object() && r.contains(p) ? &r.at(p) : nullptr;
  };
  for (const auto& r : records) {
    const nlohmann::json* warmup = at(r, "/warmup");
    const nlohmann::json* point = at(r, "/point");
    if ((warmup != nullptr && *warmup == true) || point == nullptr || !point->is_string()) continue;
    Row& row = rows[point->get<std::string>()];
    ++row.trials;
    const nlohmann::json* status_field = at(r, "/status");
    const std::string status =
        status_field != nullptr && status_field->is_string() ? status_field->get<std::string>() : "";
    if (const nlohmann::json* c = at(r, "/converged"); c != nullptr && c->is_boolean()) row.converged = c->get<bool>();
    if (status != "ok") {
      ++row.errors;
      if (const nlohmann::json* e = at(r, "/error"); e != nullptr && e->is_string())
        row.status_note = status + ": " + e->get<std::string>();
      continue;
    }
    if (const nlohmann::json* g = at(r, "/metrics/goodput_bps"); g != nullptr && g->is_number())
      row.goodput.push_back(g->get<double>());
    if (const nlohmann::json* c = at(r, "/metrics/cpu/ns_per_kib"); c != nullptr && c->is_number())
      row.cpu.push_back(c->get<double>());
  }

  const double confidence = plan.policy.confidence;
  size_t strategy_width = 8, path_width = 4;
  for (const auto& p : plan.points) {
    strategy_width = std::max(strategy_width, p.measured.spec.strategy.size());
    path_width = std::max(path_width, p.point.path_name.size());
  }
  std::string out = fmt::format("{:<5} {:<{}} {:<9} {:>6} {:<{}} {:<8} {:>5} {:>14} {:>9} {:>10} {}\n", "proto",
                                "strategy", strategy_width, "source", "size", "path", path_width, "receiver", "reps",
                                "goodput", fmt::format("+-{:g}%", confidence * 100), "ns/KiB", "converged");
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
      if (auto ci = ConfidenceInterval(row.goodput, confidence))
        interval = fmt::format("{:.1f}%", ci->Relative() * 100);
    }
    if (!row.cpu.empty()) {
      double sum = 0;
      for (double v : row.cpu) sum += v;
      cpu = fmt::format("{:.0f}", sum / static_cast<double>(row.cpu.size()));
    }
    if (row.converged) converged = *row.converged ? "yes" : "no";
    else if (row.trials == 0) converged = "not run";
    else if (!row.status_note.empty() && row.goodput.empty())
      converged = row.status_note.substr(0, row.status_note.find(':'));
    out += fmt::format("{:<5} {:<{}} {:<9} {:>6} {:<{}} {:<8} {:>5} {:>14} {:>9} {:>10} {}\n", ToString(s.protocol),
                       s.strategy, strategy_width, ToString(p.measured.source), FormatSize(s.message_size),
                       p.point.path_name, path_width, ToString(s.receiver),
                       fmt::format("{}/{}", row.trials - row.errors, row.trials), goodput, interval, cpu, converged);
    // What tells this point from its neighbours beyond the columns: options, pacing,
    // a cold cache, host constraints (the label's tail).
    const std::string base =
        fmt::format("{} {} {} {} {} {}", ToString(s.protocol), s.strategy, ToString(p.measured.source),
                    FormatSize(s.message_size), p.point.path_name, ToString(s.receiver));
    if (p.point.label.size() > base.size() && p.point.label.compare(0, base.size(), base) == 0) {
      out.pop_back();
      out += fmt::format("  {}\n", p.point.label.substr(base.size() + 1));
    }
    if (!row.status_note.empty()) notes.push_back(fmt::format("  {}: {}", p.point.label, row.status_note));
  }
  if (!notes.empty()) {
    out += "\nfailures and unsupported points:\n";
    for (const auto& n : notes) out += n + "\n";
  }
  return out;
}

}  // namespace zcb
