#include "harness/results/host_profile.h"

#include <bpf/libbpf.h>
#include <gnu/libc-version.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <openssl/opensslv.h>
#include <toml++/toml.h>
#include <CLI/Version.hpp>
#include <nlohmann/json.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "drivers/command.h"
#include "stack/unique_fd.h"

#ifndef ZCB_SOURCE_DIR
#define ZCB_SOURCE_DIR ""
#endif
#ifndef ZCB_VERSION
#define ZCB_VERSION "unknown"
#endif
#ifndef ZCB_COMPILER
#define ZCB_COMPILER "unknown"
#endif
#ifndef ZCB_BUILD_FLAGS
#define ZCB_BUILD_FLAGS ""
#endif
#ifndef ZCB_BUILD_TYPE
#define ZCB_BUILD_TYPE ""
#endif
#ifndef ZCB_LIBURING_VERSION
#define ZCB_LIBURING_VERSION ""
#endif

namespace zcb {
namespace {

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  std::string s = out.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

nlohmann::json TextOrNull(const std::string& path) {
  auto s = ReadText(path);
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

// "always [madvise] never" -> "madvise"
nlohmann::json Bracketed(const std::string& path) {
  auto s = ReadText(path);
  if (!s) return nullptr;
  const size_t open = s->find('['), close = s->find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return *s;
  return s->substr(open + 1, close - open - 1);
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    for (const char* key : {"model name", "Model", "cpu model", "Hardware"}) {
      if (line.rfind(key, 0) == 0) {
        const size_t colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
      }
    }
  }
  return "unknown";
}

int CountNumaNodes() {
  DIR* dir = ::opendir("/sys/devices/system/node");
  if (dir == nullptr) return 1;  // no NUMA support compiled in: one node
  int nodes = 0;
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind("node", 0) == 0 && name.size() > 4 && std::isdigit(static_cast<unsigned char>(name[4]))) ++nodes;
  }
  ::closedir(dir);
  return nodes > 0 ? nodes : 1;
}

std::optional<uint64_t> MemTotalBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return std::nullopt;
}

// The hypervisor, from systemd-detect-virt where installed, else from CPUID's
// hypervisor leaf; "none" on bare metal.
nlohmann::json Virtualization(nlohmann::json& detail) {
  auto detected = RunCommandStatus({"systemd-detect-virt"});
  if (detected.ok() && !detected->out.empty()) {
    std::string v = detected->out;
    while (!v.empty() && v.back() == '\n') v.pop_back();
    detail["source"] = "systemd-detect-virt";
    return v;
  }
#if defined(__x86_64__) || defined(__i386__)
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(1, eax, ebx, ecx, edx);
  if ((ecx & (1u << 31)) == 0) {
    detail["source"] = "cpuid";
    return "none";
  }
  __cpuid(0x40000000, eax, ebx, ecx, edx);
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &ecx, 4);
  std::memcpy(vendor + 8, &edx, 4);
  detail["source"] = "cpuid";
  detail["cpuid_vendor"] = vendor;
  const std::string v = vendor;
  if (v == "KVMKVMKVM") return "kvm";
  if (v == "Microsoft Hv") return "microsoft";
  if (v == "VMwareVMware") return "vmware";
  if (v == "XenVMMXenVMM") return "xen";
  if (v == "TCGTCGTCGTCG") return "qemu";
  return "unknown hypervisor";
#else
  detail["source"] = nullptr;
  return nullptr;
#endif
}

// Hardware cycles through perf_event_open: the test every hardware counter needs.
bool PmuAvailable(std::string& reason) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  UniqueFd fd(static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0)));
  if (fd) return true;
  reason = fmt::format("perf_event_open(PERF_COUNT_HW_CPU_CYCLES): {}", std::strerror(errno));
  return false;
}

// Whether tracepoint programs can be loaded here (what the probes use).
bool BpfAvailable(std::string& reason) {
  const int rc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, nullptr);
  if (rc == 1) return true;
  reason = rc == 0 ? "the kernel does not support tracepoint BPF programs"
                   : fmt::format("loading a test BPF program failed: {} (run as root, or with CAP_BPF and CAP_PERFMON)",
                                 std::strerror(-rc));
  return false;
}

std::string SysctlPath(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.') path[i] = '/';
  }
  return path;
}

}  // namespace

const std::vector<std::string>& RecordedSysctls() {
  static const std::vector<std::string> names = {
      "net.core.optmem_max",
      "net.core.wmem_max",
      "net.core.rmem_max",
      "net.core.wmem_default",
      "net.core.rmem_default",
      "net.ipv4.tcp_wmem",
      "net.ipv4.tcp_rmem",
      "net.ipv4.tcp_mem",
      "net.ipv4.tcp_congestion_control",
      "net.ipv4.tcp_autocorking",
      "net.ipv4.tcp_notsent_lowat",
      "net.core.default_qdisc",
      "net.core.busy_poll",
      "net.core.busy_read",
      "net.core.netdev_max_backlog",
      "kernel.perf_event_paranoid",
      "kernel.unprivileged_bpf_disabled",
      "kernel.numa_balancing",
      "vm.max_map_count",
  };
  return names;
}

nlohmann::json HostProfile() {
  nlohmann::json host;
  utsname uts{};
  ::uname(&uts);
  host["hostname"] = uts.nodename;
  host["cpu_model"] = CpuModel();
  host["cores"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  host["cpus_online"] = TextOrNull("/sys/devices/system/cpu/online");
  host["numa_nodes"] = CountNumaNodes();
  auto memory = MemTotalBytes();
  host["memory_bytes"] = memory ? nlohmann::json(*memory) : nlohmann::json(nullptr);
  host["kernel_release"] = uts.release;
  host["kernel_version"] = uts.version;
  host["machine"] = uts.machine;
  host["kernel_cmdline"] = TextOrNull("/proc/cmdline");
  nlohmann::json virt_detail = nlohmann::json::object();
  host["virtualization"] = Virtualization(virt_detail);
  host["virtualization_detail"] = virt_detail;
  std::string reason;
  host["pmu_available"] = PmuAvailable(reason);
  host["pmu_reason"] = reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason);
  reason.clear();
  host["bpf_available"] = BpfAvailable(reason);
  host["bpf_reason"] = reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason);
  host["btf_vmlinux"] = ::access("/sys/kernel/btf/vmlinux", R_OK) == 0;
  host["thp"] = Bracketed("/sys/kernel/mm/transparent_hugepage/enabled");
  host["thp_defrag"] = Bracketed("/sys/kernel/mm/transparent_hugepage/defrag");
  host["governor"] = TextOrNull("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (host["governor"].is_null()) host["governor_reason"] = "no cpufreq in sysfs (common in virtual machines)";
  host["cpufreq_driver"] = TextOrNull("/sys/devices/system/cpu/cpu0/cpufreq/scaling_driver");
  nlohmann::json sysctls = nlohmann::json::object();
  for (const auto& name : RecordedSysctls()) {
    auto value = ReadText(SysctlPath(name));
    if (!value) {
      sysctls[name] = nullptr;
      continue;
    }
    for (char& c : *value) {
      if (c == '\t') c = ' ';
    }
    sysctls[name] = *value;
  }
  host["sysctls"] = sysctls;
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) == 0) {
    host["memlock_limit_bytes"] =
        limit.rlim_cur == RLIM_INFINITY ? nlohmann::json(nullptr) : nlohmann::json(limit.rlim_cur);
    host["memlock_unlimited"] = limit.rlim_cur == RLIM_INFINITY;
  } else {
    host["memlock_limit_bytes"] = nullptr;
    host["memlock_unlimited"] = nullptr;
  }
  host["euid"] = ::geteuid();
  return host;
}

nlohmann::json ZcbenchInfo() {
  nlohmann::json info = {{"version", ZCB_VERSION}, {"git_commit", nullptr}, {"git_dirty", nullptr}};
  const std::string source_dir = ZCB_SOURCE_DIR;
  if (source_dir.empty()) return info;
  auto commit = RunCommandStatus({"git", "-C", source_dir, "rev-parse", "HEAD"});
  if (!commit.ok() || commit->exit_code != 0) {
    info["git_reason"] = commit.ok() ? commit->err : commit.error().ToString();
    return info;
  }
  std::string hash = commit->out;
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == ' ')) hash.pop_back();
  info["git_commit"] = hash;
  // Dirty: tracked files differ from the commit (untracked files do not count, as in
  // git describe --dirty).
  auto status = RunCommandStatus({"git", "-C", source_dir, "status", "--porcelain", "--untracked-files=no"});
  if (status.ok() && status->exit_code == 0) info["git_dirty"] = !status->out.empty();
  return info;
}

nlohmann::json BuildInfo() {
  return {{"compiler", ZCB_COMPILER},
          {"compiler_version_string", __VERSION__},
          {"flags", ZCB_BUILD_FLAGS},
          {"build_type", ZCB_BUILD_TYPE}};
}

nlohmann::json LibraryVersions() {
  nlohmann::json libs = nlohmann::json::object();
  libs["glibc"] = gnu_get_libc_version();
#ifdef _GLIBCXX_RELEASE
  libs["libstdc++"] = fmt::format("{} ({})", _GLIBCXX_RELEASE, __GLIBCXX__);
#endif
  libs["libbpf"] = libbpf_version_string();
  libs["liburing"] =
      std::string(ZCB_LIBURING_VERSION).empty() ? nlohmann::json(nullptr) : nlohmann::json(ZCB_LIBURING_VERSION);
  libs["fmt"] = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  libs["nlohmann_json"] =
      fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
  libs["tomlplusplus"] = fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH);
  libs["cli11"] = CLI11_VERSION;
  libs["openssl"] = OPENSSL_VERSION_TEXT;
  return libs;
}

}  // namespace zcb
