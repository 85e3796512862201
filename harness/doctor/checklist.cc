#include "harness/doctor/checklist.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <liburing.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "harness/probes/cpu_profile_probe.h"
#include "harness/probes/ebpf_probe.h"
#include "harness/probes/perf_counters.h"
#include "harness/probes/resctrl_mbm.h"
#include "harness/probes/tracepoint_catalog.h"
#include "harness/probes/uncore_pmu.h"
#include "stack/unique_fd.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif

namespace zcb {
namespace {

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

uint64_t EffectiveCapabilities() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  return 0;
}

// What the probe tracepoints feed in the record.
const std::map<std::string, std::string>& TracepointUse() {
  static const std::map<std::string, std::string> use = {
      {"tlb:tlb_flush", "metrics.probes.tlb_flush"},
      {"ipi:ipi_send_cpu", "metrics.probes.ipi (with ipi_send_cpumask)"},
      {"ipi:ipi_send_cpumask", "metrics.probes.ipi (with ipi_send_cpu)"},
      {"irq_vectors:call_function_entry", "metrics.probes.ipi_detail.call_function"},
      {"irq_vectors:call_function_single_entry", "metrics.probes.ipi_detail.call_function_single"},
      {"exceptions:page_fault_user", "metrics.probes.page_faults (with page_fault_kernel)"},
      {"exceptions:page_fault_kernel", "metrics.probes.page_faults (with page_fault_user)"},
      {"skb:skb_copy_datagram_iovec", "metrics.probes.kernel_copy_bytes (the memory model's fallback)"},
      {"sock:sock_recv_length", "metrics.probes.recv_copy_bytes and the memory model"},
      {"net:net_dev_xmit", "metrics.probes.xmit_packets / xmit_bytes"},
      {"net:net_dev_start_xmit", "metrics.probes.xmit_in_process and the memory model"},
      {"tcp:tcp_retransmit_skb", "metrics.probes.retransmits"},
      {"irq:softirq_entry", "metrics.probes.softirq_net_rx_ns / softirq_net_tx_ns"},
      {"irq:softirq_exit", "metrics.probes.softirq_net_rx_ns / softirq_net_tx_ns"},
  };
  return use;
}

// Loads and attaches a do-nothing fentry program: the definitive test for trampolines.
SupportCheck CheckFentry() {
  SupportCheck check{"bpf", "fentry/fexit", false, "", "nothing zcbench needs: its probes use raw tracepoints"};
  if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACING, nullptr) != 1) {
    check.detail = "the kernel refuses BPF_PROG_TYPE_TRACING programs";
    return check;
  }
  struct btf* btf = btf__load_vmlinux_btf();
  if (btf == nullptr || libbpf_get_error(btf) != 0) {
    check.detail = "no kernel BTF to find an attach target in";
    return check;
  }
  int target = -1;
  for (const char* fn : {"vfs_read", "do_nanosleep", "tcp_sendmsg"}) {
    target = btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC);
    if (target > 0) break;
  }
  btf__free(btf);
  if (target <= 0) {
    check.detail = "no attach target function found in the kernel BTF";
    return check;
  }
  const bpf_insn program[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},  // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  bpf_prog_load_opts opts{};
  opts.sz = sizeof opts;
  opts.expected_attach_type = BPF_TRACE_FENTRY;
  opts.attach_btf_id = static_cast<__u32>(target);
  UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "zcb_fentry", "GPL", program, 2, &opts));
  if (!prog) {
    check.detail = Error(errno, "loading an fentry program").ToString();
    return check;
  }
  UniqueFd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
  if (!link) {
    check.detail = Error(errno, "attaching an fentry program (BPF trampolines)").ToString();
    return check;
  }
  check.ok = true;
  check.detail = "an fentry program loads and attaches";
  check.disables.clear();
  return check;
}

// Opens (and closes) a kprobe on vfs_read through the kprobe PMU.
SupportCheck CheckKprobes() {
  SupportCheck check{"bpf", "kprobes", false, "", "nothing zcbench needs: its probes use raw tracepoints"};
  const std::string type = ReadLine("/sys/bus/event_source/devices/kprobe/type");
  if (type.empty()) {
    check.detail = "no kprobe PMU (/sys/bus/event_source/devices/kprobe): the kernel has no kprobes";
    return check;
  }
  static const char kFunction[] = "vfs_read";
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = static_cast<uint32_t>(std::strtoul(type.c_str(), nullptr, 10));
  attr.config1 = reinterpret_cast<uint64_t>(kFunction);
  UniqueFd fd(PerfEventOpen(&attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (!fd) {
    check.detail = PerfOpenFailure("perf_event_open(kprobe vfs_read)", errno);
    return check;
  }
  check.ok = true;
  check.detail = "a kprobe on vfs_read opens";
  check.disables.clear();
  return check;
}

SupportCheck CheckSoZerocopy(int type, const char* name) {
  SupportCheck check{"zero-copy", name, false, "", ""};
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
    check.detail = Error(errno, "setsockopt(SO_ZEROCOPY)").ToString();
    check.disables = type == SOCK_STREAM ? "msg_zerocopy over TCP" : "msg_zerocopy over UDP";
    return check;
  }
  check.ok = true;
  check.detail = "setsockopt(SO_ZEROCOPY, 1) accepted";
  return check;
}

std::vector<SupportCheck> IoUringChecks() {
  std::vector<SupportCheck> checks;
  const std::string disabled = ReadLine("/proc/sys/kernel/io_uring_disabled");
  io_uring_probe* probe = io_uring_get_probe();
  if (probe == nullptr) {
    checks.push_back({"io_uring", "io_uring", false,
                      fmt::format("io_uring_setup failed{}", disabled.empty() || disabled == "0" ? "" : " (kernel.io_uring_disabled=" + disabled + ")"),
                      "io_uring_send, io_uring_send_zc"});
    return checks;
  }
  const struct {
    int op;
    const char* name;
    const char* disables;
  } kOps[] = {
      {IORING_OP_SEND, "IORING_OP_SEND", "io_uring_send"},
      {IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC", "io_uring_send_zc"},
      {IORING_OP_SENDMSG_ZC, "IORING_OP_SENDMSG_ZC", "nothing zcbench uses (io_uring_send_zc uses SEND_ZC)"},
  };
  for (const auto& op : kOps) {
    const bool ok = io_uring_opcode_supported(probe, op.op) != 0;
    checks.push_back({"io_uring", op.name, ok, ok ? "supported" : "not supported by this kernel", ok ? "" : op.disables});
  }
  io_uring_free_probe(probe);
  return checks;
}

}  // namespace

std::vector<SupportCheck> CheckHostSupport() {
  std::vector<SupportCheck> checks;
  utsname u{};
  ::uname(&u);
  checks.push_back({"kernel", "release", true, fmt::format("{} {} ({})", u.sysname, u.release, u.machine), ""});

  // Privilege.
  const uint64_t caps = EffectiveCapabilities();
  const bool root = ::geteuid() == 0;
  checks.push_back({"privilege", "root", root, root ? "running as root" : fmt::format("uid {}", ::geteuid()),
                    root ? "" : "whatever the capabilities below do not grant"});
  const struct {
    int cap;
    const char* name;
    const char* disables;
  } kCaps[] = {
      {CAP_BPF, "CAP_BPF", "the eBPF probes (metrics.probes)"},
      {CAP_PERFMON, "CAP_PERFMON", "the eBPF probes and system-wide hardware counters"},
      {CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "network namespaces (veth, shaped, routed paths), mounting tracefs, cold page cache"},
      {CAP_NET_ADMIN, "CAP_NET_ADMIN", "veth and qdisc set-up, offload toggles"},
      {CAP_NET_RAW, "CAP_NET_RAW", "packet_tx_ring (AF_PACKET)"},
      {CAP_IPC_LOCK, "CAP_IPC_LOCK", "pinning beyond the locked-memory limit (MSG_ZEROCOPY, registered buffers)"},
  };
  for (const auto& c : kCaps) {
    const bool has = (caps >> c.cap) & 1;
    checks.push_back({"privilege", c.name, has, has ? "effective" : "not in the effective set", has ? "" : c.disables});
  }

  // BPF and BTF.
  const TracepointCatalog catalog = TracepointCatalog::Load({});
  checks.push_back({"bpf", "BTF", catalog.btf_loaded(), catalog.btf_loaded() ? "/sys/kernel/btf/vmlinux loads" : catalog.btf_reason(),
                    catalog.btf_loaded() ? "" : "every eBPF probe (CO-RE needs the kernel BTF)"});
  const bool raw_tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr) == 1;
  checks.push_back({"bpf", "raw tracepoint programs", raw_tp,
                    raw_tp ? "BPF_PROG_TYPE_RAW_TRACEPOINT loads" : "the kernel refuses raw tracepoint programs (or no privilege)",
                    raw_tp ? "" : "every eBPF probe"});
  const bool tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, nullptr) == 1;
  checks.push_back({"bpf", "tracepoint programs", tp, tp ? "BPF_PROG_TYPE_TRACEPOINT loads" : "refused",
                    tp ? "" : "nothing zcbench needs (it attaches raw tracepoints)"});
  checks.push_back(CheckKprobes());
  checks.push_back(CheckFentry());
  {
    const int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    const bool ok = fd >= 0;
    if (ok) ::close(fd);
    checks.push_back({"bpf", "BPF run-time statistics", ok,
                      ok ? "bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME) works" : Error(-fd, "bpf(BPF_ENABLE_STATS)").ToString(),
                      ok ? "" : "metrics.probes.run_time_ns (the probes' own cost)"});
  }
  checks.push_back({"bpf", "tracefs", catalog.tracefs_available(), catalog.tracefs_status(),
                    catalog.tracefs_available() ? "" : "reading reason names from tracepoint formats (the kernel BTF enums are used instead)"});
  {
    const std::string restrict_level = ReadLine("/proc/sys/kernel/kptr_restrict");
    std::ifstream kallsyms("/proc/kallsyms");
    std::string first;
    std::getline(kallsyms, first);
    const bool ok = !first.empty() && first.rfind("0000000000000000", 0) != 0;
    checks.push_back({"bpf", "kernel symbol addresses", ok,
                      ok ? "/proc/kallsyms shows addresses" : fmt::format("/proc/kallsyms hides addresses (kptr_restrict={})", restrict_level),
                      ok ? "" : "names of IPI callbacks (metrics.probes.ipi_detail.by_callback shows addresses)"});
  }

  // Each tracepoint, and whether the probes' programs attach to it.
  const auto ebpf = EbpfProbe::Open({});
  std::map<std::string, const TracepointProgram*> programs;
  for (const auto& group : ebpf->groups()) {
    for (const TracepointProgram& p : group->programs()) programs[p.tracepoint] = &p;
  }
  for (const std::string& tracepoint : AllProbeTracepoints()) {
    const size_t colon = tracepoint.find(':');
    const bool in_kernel = catalog.InKernel(tracepoint.substr(colon + 1));
    auto p = programs.find(tracepoint);
    const bool attached = p != programs.end() && p->second->attached();
    std::string detail;
    if (attached) {
      detail = "present; the probe program attaches";
    } else if (!in_kernel) {
      detail = catalog.MissingReason(tracepoint);
    } else if (p != programs.end()) {
      detail = "present, but the probe program does not attach: " + p->second->reason;
    } else {
      detail = "present, but its probe group did not load: " +
               (ebpf->unavailable_reason().empty() ? std::string("see the bpf checks") : ebpf->unavailable_reason());
    }
    checks.push_back({"tracepoint", tracepoint, attached, detail, attached ? "" : TracepointUse().at(tracepoint)});
  }

  // Hardware counters.
  const auto counters = HardwareCounterProbe::Open();
  for (const auto& c : counters->counters()) {
    const bool ok = c.reason.empty();
    checks.push_back({"counters", c.name, ok, ok ? fmt::format("counts on {} CPUs", c.cpus.size()) : c.reason,
                      ok ? "" : fmt::format("metrics.counters.{}", c.name)});
  }

  // The CPU profile: cpu-clock sampling with a BPF program, named from kallsyms.
  {
    CpuProfileOptions options;
    const auto profile = CpuProfileProbe::Open(options);
    const bool ok = profile->unavailable_reason().empty();
    checks.push_back({"profile", "cpu-clock sampling with kernel stacks", ok,
                      ok ? fmt::format("samples {} CPUs at {} Hz", OnlineCpus().size(), options.frequency_hz) : profile->unavailable_reason(),
                      ok ? "" : "metrics.cpu_profile (where the CPU goes)"});
  }

  // Memory traffic sources.
  const MemoryPmuDiscovery pmus = DiscoverMemoryPmus();
  std::string notes;
  for (const std::string& note : pmus.notes) notes += (notes.empty() ? "" : "; ") + note;
  checks.push_back({"memory", "memory-controller counters", !pmus.family.empty(),
                    !pmus.family.empty() ? fmt::format("{} ({} events)", pmus.family, pmus.events.size()) : notes,
                    !pmus.family.empty() ? "" : "measured memory traffic (metrics.memory falls back to resctrl or the model)"});
  auto mbm = ResctrlMbm::Discover();
  checks.push_back({"memory", "resctrl MBM", mbm.ok(), mbm.ok() ? "mounted at " + mbm->root() : mbm.error().ToString(),
                    mbm.ok() ? "" : "resctrl-measured memory traffic"});

  // Zero-copy send paths.
  for (SupportCheck& check : IoUringChecks()) checks.push_back(std::move(check));
  checks.push_back(CheckSoZerocopy(SOCK_STREAM, "SO_ZEROCOPY (TCP)"));
  checks.push_back(CheckSoZerocopy(SOCK_DGRAM, "SO_ZEROCOPY (UDP)"));

  // Limits.
  rlimit memlock{};
  ::getrlimit(RLIMIT_MEMLOCK, &memlock);
  auto limit_text = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : fmt::format("{} KiB", v / 1024); };
  const bool ipc_lock = (caps >> CAP_IPC_LOCK) & 1;
  const bool memlock_ok = ipc_lock || memlock.rlim_cur == RLIM_INFINITY || memlock.rlim_cur >= (64u << 20);
  checks.push_back({"limits", "locked memory (RLIMIT_MEMLOCK)", memlock_ok,
                    fmt::format("soft {}, hard {}{}", limit_text(memlock.rlim_cur), limit_text(memlock.rlim_max),
                                ipc_lock ? " (CAP_IPC_LOCK: not enforced)" : ""),
                    memlock_ok ? "" : "large MSG_ZEROCOPY / SEND_ZC windows and registered buffers (pinned pages count against it)"});
  const std::string optmem = ReadLine("/proc/sys/net/core/optmem_max");
  const bool optmem_ok = !optmem.empty();
  checks.push_back({"limits", "net.core.optmem_max", optmem_ok,
                    optmem_ok ? optmem + " bytes: bounds the MSG_ZEROCOPY notifications a socket may have outstanding (ENOBUFS beyond)"
                              : "unreadable",
                    optmem_ok ? "" : "knowing when msg_zerocopy will hit ENOBUFS"});
  const std::string paranoid = ReadLine("/proc/sys/kernel/perf_event_paranoid");
  checks.push_back({"limits", "kernel.perf_event_paranoid", true, paranoid.empty() ? "unreadable" : paranoid, ""});
  return checks;
}

nlohmann::json SupportChecksJson(const std::vector<SupportCheck>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const SupportCheck& c : checks) {
    out.push_back({{"area", c.area},
                   {"name", c.name},
                   {"ok", c.ok},
                   {"detail", c.detail},
                   {"disables", c.disables.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.disables)}});
  }
  return out;
}

}  // namespace zcb
