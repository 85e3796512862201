#include "harness/probes/cpu_accounting.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace zcb {

CpuTimes CpuTimes::operator-(const CpuTimes& o) const {
  return {user - o.user, nice - o.nice, system - o.system, idle - o.idle,
          iowait - o.iowait, irq - o.irq, softirq - o.softirq, steal - o.steal};
}

double CpuTickSeconds() {
  static const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return tick_s;
}

double CpuTimes::All() const { return user + nice + system + idle + iowait + irq + softirq + steal; }

Result<CpuSnapshot> CpuSnapshot::Read() {
  std::ifstream in("/proc/stat");
  if (!in) return SysError("open /proc/stat");
  const double ticks = 1.0 / CpuTickSeconds();
  CpuSnapshot snapshot;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) != 0) break;  // the cpu lines come first
    std::istringstream fields(line);
    std::string name;
    uint64_t v[8] = {};
    fields >> name;
    for (auto& x : v) fields >> x;
    CpuTimes t{v[0] / ticks, v[1] / ticks, v[2] / ticks, v[3] / ticks, v[4] / ticks, v[5] / ticks, v[6] / ticks, v[7] / ticks};
    if (name == "cpu") snapshot.total = t;
    else snapshot.per_cpu.push_back(t);
  }
  if (snapshot.per_cpu.empty()) return Errorf("/proc/stat has no per-CPU lines");
  return snapshot;
}

double ThreadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

static nlohmann::json TimesJson(const CpuTimes& t) {
  return {{"user_s", t.user},     {"nice_s", t.nice},       {"system_s", t.system}, {"idle_s", t.idle},
          {"iowait_s", t.iowait}, {"irq_s", t.irq},         {"softirq_s", t.softirq}, {"steal_s", t.steal},
          {"busy_s", t.Busy()}};
}

nlohmann::json CpuRecord(const CpuSnapshot& before, const CpuSnapshot& after, double sender_thread_s,
                         double receiver_thread_s, uint64_t bytes_delivered) {
  const CpuTimes delta = after.total - before.total;
  nlohmann::json cpu = TimesJson(delta);
  cpu["sender_thread_s"] = sender_thread_s;
  cpu["receiver_thread_s"] = receiver_thread_s;
  cpu["tick_s"] = CpuTickSeconds();
  // /proc/stat counts whole ticks per CPU, so a window of a few ticks can read as no CPU
  // at all (a 2 ms loopback trial records 0 busy seconds): below kMinWindowTicks the
  // service demand is left out, with the reason, rather than reported as a number.
  const double cpus = static_cast<double>(std::max<size_t>(after.per_cpu.size(), 1));
  const double window_ticks = delta.All() / cpus / CpuTickSeconds();
  if (bytes_delivered == 0) {
    cpu["ns_per_kib"] = nullptr;
    cpu["ns_per_kib_reason"] = "nothing was delivered";
  } else if (window_ticks < kMinWindowTicks) {
    cpu["ns_per_kib"] = nullptr;
    cpu["ns_per_kib_reason"] =
        fmt::format("the window spanned {:.0f} /proc/stat ticks of {:.0f} ms per CPU; CPU per KiB needs at least {}: "
                    "use a longer --duration or more --bytes",
                    window_ticks, CpuTickSeconds() * 1e3, kMinWindowTicks);
  } else {
    cpu["ns_per_kib"] = delta.Busy() * 1e9 / (static_cast<double>(bytes_delivered) / 1024.0);
  }
  nlohmann::json per_cpu = nlohmann::json::array();
  for (size_t i = 0; i < after.per_cpu.size() && i < before.per_cpu.size(); ++i) {
    per_cpu.push_back(TimesJson(after.per_cpu[i] - before.per_cpu[i]));
  }
  cpu["per_cpu"] = per_cpu;
  return cpu;
}

}  // namespace zcb
