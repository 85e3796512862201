#include "harness/probes/uncore_pmu.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "harness/probes/perf_counters.h"

namespace zcb {
namespace {

namespace fs = std::filesystem;

std::string ReadTrimmed(const fs::path& path) {
  std::ifstream in(path);
  std::string text;
  if (!in) return text;
  std::getline(in, text, '\0');
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// One event of a PMU: encoded, scaled, placed on the PMU's CPU.
Result<MemoryPmuEvent> MakeEvent(const fs::path& pmu_dir, const std::string& name, const std::string& spec,
                                 double bytes_per_count, bool write) {
  MemoryPmuEvent e;
  e.pmu = pmu_dir.filename().string();
  e.event = name;
  e.write = write;
  e.bytes_per_count = bytes_per_count;
  const std::string type = ReadTrimmed(pmu_dir / "type");
  if (type.empty()) return Errorf("{}: no type file", e.pmu);
  e.type = static_cast<uint32_t>(std::strtoul(type.c_str(), nullptr, 10));
  ZCB_ASSIGN_OR_RETURN(e.config, EncodePmuEvent(pmu_dir.string(), spec));
  const std::vector<int> cpus = ParseSysfsCpuList(ReadTrimmed(pmu_dir / "cpumask"));
  e.cpu = cpus.empty() ? 0 : cpus.front();
  return e;
}

// A named sysfs event (events/<name>, with .scale and .unit).
Result<MemoryPmuEvent> NamedEvent(const fs::path& pmu_dir, const std::string& name, bool write) {
  const std::string spec = ReadTrimmed(pmu_dir / "events" / name);
  if (spec.empty()) return Errorf("{}: no event {}", pmu_dir.filename().string(), name);
  const std::string scale_text = ReadTrimmed(pmu_dir / "events" / (name + ".scale"));
  const double scale = scale_text.empty() ? 1.0 : std::strtod(scale_text.c_str(), nullptr);
  const double unit = UnitBytes(ReadTrimmed(pmu_dir / "events" / (name + ".unit")));
  return MakeEvent(pmu_dir, name, spec, scale * unit, write);
}

}  // namespace

double UnitBytes(const std::string& unit) {
  static const std::map<std::string, double> kUnits = {
      {"", 1},     {"B", 1},    {"bytes", 1}, {"Bytes", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
      {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
  };
  auto it = kUnits.find(unit);
  return it == kUnits.end() ? 0 : it->second;
}

Result<uint64_t> EncodePmuEvent(const std::string& pmu_dir, const std::string& spec) {
  uint64_t config = 0;
  std::istringstream terms(spec);
  std::string term;
  while (std::getline(terms, term, ',')) {
    if (term.empty()) continue;
    const size_t eq = term.find('=');
    const std::string field = term.substr(0, eq);
    const uint64_t value = eq == std::string::npos ? 1 : std::strtoull(term.c_str() + eq + 1, nullptr, 0);
    // format/<field> reads "config:0-7" or "config:0-7,32-35" (bits of the value, low first).
    const std::string format = ReadTrimmed(fs::path(pmu_dir) / "format" / field);
    if (format.empty()) return Errorf("{}: unknown event field {}", pmu_dir, field);
    if (!StartsWith(format, "config:")) return Errorf("{}: field {} is not in config ({})", pmu_dir, field, format);
    uint64_t remaining = value;
    std::istringstream ranges(format.substr(7));
    std::string range;
    while (std::getline(ranges, range, ',')) {
      const size_t dash = range.find('-');
      const int lo = std::atoi(range.c_str());
      const int hi = dash == std::string::npos ? lo : std::atoi(range.c_str() + dash + 1);
      if (lo < 0 || hi > 63 || hi < lo) return Errorf("{}: bad bit range {} for {}", pmu_dir, range, field);
      const int width = hi - lo + 1;
      const uint64_t mask = width == 64 ? ~0ULL : ((1ULL << width) - 1);
      config |= (remaining & mask) << lo;
      remaining = width == 64 ? 0 : remaining >> width;
    }
  }
  return config;
}

MemoryPmuDiscovery DiscoverMemoryPmus(const std::string& devices_root) {
  MemoryPmuDiscovery out;
  std::error_code ec;
  std::vector<fs::path> pmus;
  for (const auto& entry : fs::directory_iterator(devices_root, ec)) pmus.push_back(entry.path());
  std::sort(pmus.begin(), pmus.end());
  if (ec) {
    out.notes.push_back(fmt::format("{}: {}", devices_root, ec.message()));
    return out;
  }
  auto of_family = [&](const std::string& prefix, const std::string& exclude) {
    std::vector<fs::path> found;
    for (const auto& p : pmus) {
      const std::string name = p.filename().string();
      if (StartsWith(name, prefix) && (exclude.empty() || !StartsWith(name, exclude))) found.push_back(p);
    }
    return found;
  };
  // Each family: the events for reads and writes on every PMU instance (one per channel
  // or controller), all of which must be usable.
  auto try_family =
      [&](const std::string& family, const std::vector<fs::path>& dirs,
          const std::function<Result<std::pair<MemoryPmuEvent, MemoryPmuEvent>>(const fs::path&)>& events) {
        if (!out.family.empty() || dirs.empty()) return;
        std::vector<MemoryPmuEvent> found;
        for (const auto& dir : dirs) {
          auto pair = events(dir);
          if (!pair.ok()) {
            out.notes.push_back(fmt::format("{} not used: {}", dir.filename().string(), pair.error().ToString()));
            return;
          }
          found.push_back(pair->first);
          found.push_back(pair->second);
        }
        out.family = family;
        out.events = std::move(found);
      };
  try_family("uncore_imc_free_running", of_family("uncore_imc_free_running", ""),
             [](const fs::path& dir) -> Result<std::pair<MemoryPmuEvent, MemoryPmuEvent>> {
               ZCB_ASSIGN_OR_RETURN(MemoryPmuEvent read, NamedEvent(dir, "data_read", false));
               ZCB_ASSIGN_OR_RETURN(MemoryPmuEvent write, NamedEvent(dir, "data_write", true));
               return std::make_pair(read, write);
             });
  try_family("uncore_imc", of_family("uncore_imc_", "uncore_imc_free_running"),
             [](const fs::path& dir) -> Result<std::pair<MemoryPmuEvent, MemoryPmuEvent>> {
               ZCB_ASSIGN_OR_RETURN(MemoryPmuEvent read, NamedEvent(dir, "cas_count_read", false));
               ZCB_ASSIGN_OR_RETURN(MemoryPmuEvent write, NamedEvent(dir, "cas_count_write", true));
               return std::make_pair(read, write);
             });
  // AMD's UMC PMU names no events in sysfs; perf's own event tables (amdzen4/5
  // umc_cas_cmd.rd / .wr) use event 0x0a with rdwrmask 1 (reads) or 2 (writes), one
  // 64-byte line per CAS command.
  try_family("amd_umc", of_family("amd_umc", ""),
             [](const fs::path& dir) -> Result<std::pair<MemoryPmuEvent, MemoryPmuEvent>> {
               ZCB_ASSIGN_OR_RETURN(MemoryPmuEvent read,
                                    MakeEvent(dir, "umc_cas_cmd.rd", "event=0x0a,rdwrmask=0x1", 64.0, false));
               ZCB_ASSIGN_OR_RETURN(MemoryPmuEvent write,
                                    MakeEvent(dir, "umc_cas_cmd.wr", "event=0x0a,rdwrmask=0x2", 64.0, true));
               return std::make_pair(read, write);
             });
  if (!of_family("amd_df", "").empty()) {
    out.notes.push_back("amd_df present but not used: its bandwidth events are family-specific and sysfs names none");
  }
  if (out.family.empty() && out.notes.empty()) {
    out.notes.push_back(fmt::format("no memory-controller PMU (uncore_imc*, amd_umc*) under {}", devices_root));
  }
  for (const MemoryPmuEvent& e : out.events) {
    if (e.bytes_per_count <= 0) {
      out.notes.push_back(fmt::format("{}/{}: unknown unit; not used", e.pmu, e.event));
      out.family.clear();
      out.events.clear();
      break;
    }
  }
  return out;
}

Result<MemoryPmuCounters> MemoryPmuCounters::Open(const MemoryPmuDiscovery& discovery) {
  if (discovery.events.empty()) return Errorf("no memory-controller events to open");
  MemoryPmuCounters counters;
  for (const MemoryPmuEvent& e : discovery.events) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = e.type;
    attr.config = e.config;
    attr.disabled = 1;
    UniqueFd fd(PerfEventOpen(&attr, -1, e.cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (!fd)
      return Errorf("{}", PerfOpenFailure(fmt::format("perf_event_open({}/{}, cpu {})", e.pmu, e.event, e.cpu), errno));
    counters.counters_.push_back({e, std::move(fd), 0});
  }
  return counters;
}

Status MemoryPmuCounters::Begin() {
  for (OpenEvent& c : counters_) {
    uint64_t value = 0;
    if (::read(c.fd.get(), &value, sizeof value) != sizeof value)
      return SysError(fmt::format("read {}/{}", c.event.pmu, c.event.event));
    c.begin = value;
    ::ioctl(c.fd.get(), PERF_EVENT_IOC_ENABLE, 0);
  }
  return OkStatus();
}

Status MemoryPmuCounters::End() {
  double read_bytes = 0, write_bytes = 0;
  for (OpenEvent& c : counters_) ::ioctl(c.fd.get(), PERF_EVENT_IOC_DISABLE, 0);
  for (OpenEvent& c : counters_) {
    uint64_t value = 0;
    if (::read(c.fd.get(), &value, sizeof value) != sizeof value)
      return SysError(fmt::format("read {}/{}", c.event.pmu, c.event.event));
    const double bytes = static_cast<double>(value - c.begin) * c.event.bytes_per_count;
    (c.event.write ? write_bytes : read_bytes) += bytes;
  }
  read_bytes_ = static_cast<uint64_t>(read_bytes);
  write_bytes_ = static_cast<uint64_t>(write_bytes);
  return OkStatus();
}

}  // namespace zcb
