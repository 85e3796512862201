#include "harness/summary_table.h"

#include <fmt/format.h>

#include "stack/types.h"

namespace zcb {

std::string FormatBitRate(double bps) {
  if (bps >= 1e9) return fmt::format("{:.2f} Gbit/s", bps / 1e9);
  if (bps >= 1e6) return fmt::format("{:.2f} Mbit/s", bps / 1e6);
  return fmt::format("{:.2f} kbit/s", bps / 1e3);
}

static std::string Field(const nlohmann::json& j, const char* key, const char* fallback = "-") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string FormatSummaryTable(const std::vector<nlohmann::json>& records) {
  std::string out = fmt::format("{:<18} {:<10} {:>7} {:<11} {:>14} {:>10} {:>12} {:>16}\n", "strategy", "source", "size",
                                "status", "goodput", "ns/KiB", "mismatches", "zc copied/total");
  for (const auto& r : records) {
    const auto& p = r["params"];
    const auto& m = r["metrics"];
    std::string goodput = "-", cpu = "-", mismatches = "-", zc = "-";
    if (m.is_object()) {
      goodput = FormatBitRate(m.value("goodput_bps", 0.0));
      if (m["cpu"].is_object() && m["cpu"]["ns_per_kib"].is_number()) cpu = fmt::format("{:.0f}", m["cpu"]["ns_per_kib"].get<double>());
      mismatches = Field(m["integrity"], "mismatches");
      if (m["zerocopy"].is_object()) zc = fmt::format("{}/{}", Field(m["zerocopy"], "copied"), Field(m["zerocopy"], "completions"));
    }
    out += fmt::format("{:<18} {:<10} {:>7} {:<11} {:>14} {:>10} {:>12} {:>16}\n", Field(p, "strategy"), Field(p, "source"),
                       FormatSize(p.value("message_size", 0ull)), Field(r, "status"), goodput, cpu, mismatches, zc);
    if (r["status"] != "ok" && r["error"].is_string()) out += fmt::format("    {}: {}\n", Field(r, "status"), r["error"].get<std::string>());
  }
  return out;
}

}  // namespace zcb
