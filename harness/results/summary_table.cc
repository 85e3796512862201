#include "harness/results/summary_table.h"

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
  // UDP trials add what a datagram stream needs read next to its goodput: how many
  // datagrams arrived of those sent, and the share lost.
  bool udp = false;
  for (const auto& r : records) udp |= r["metrics"].is_object() && r["metrics"]["udp"].is_object();
  std::string out = fmt::format("{:<18} {:<10} {:>7} {:<11} {:>14} {:>10} {:>12} {:>16}", "strategy", "source", "size",
                                "status", "goodput", "ns/KiB", "mismatches", "zc copied/total");
  if (udp) out += fmt::format(" {:>23} {:>8}", "datagrams recv/sent", "lost");
  out += "\n";
  for (const auto& r : records) {
    const auto& p = r["params"];
    const auto& m = r["metrics"];
    std::string goodput = "-", cpu = "-", mismatches = "-", zc = "-", datagrams = "-", lost = "-";
    if (m.is_object()) {
      goodput = FormatBitRate(m.value("goodput_bps", 0.0));
      if (m["cpu"].is_object() && m["cpu"]["ns_per_kib"].is_number())
        cpu = fmt::format("{:.0f}", m["cpu"]["ns_per_kib"].get<double>());
      mismatches = Field(m["integrity"], "mismatches");
      if (m["zerocopy"].is_object())
        zc = fmt::format("{}/{}", Field(m["zerocopy"], "copied"), Field(m["zerocopy"], "completions"));
      if (m["udp"].is_object()) {
        const auto& u = m["udp"];
        datagrams = fmt::format("{}/{}", Field(u, "datagrams_received"), Field(u, "datagrams_sent"));
        if (u["loss_ratio"].is_number()) lost = fmt::format("{:.2f}%", u["loss_ratio"].get<double>() * 100);
      }
    }
    out +=
        fmt::format("{:<18} {:<10} {:>7} {:<11} {:>14} {:>10} {:>12} {:>16}", Field(p, "strategy"), Field(p, "source"),
                    FormatSize(p.value("message_size", 0ull)), Field(r, "status"), goodput, cpu, mismatches, zc);
    if (udp) out += fmt::format(" {:>23} {:>8}", datagrams, lost);
    out += "\n";
    if (r["status"] != "ok" && r["error"].is_string())
      out += fmt::format("    {}: {}\n", Field(r, "status"), r["error"].get<std::string>());
  }
  return out;
}

}  // namespace zcb
