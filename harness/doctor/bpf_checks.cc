// The doctor's BPF checks: the kernel BTF, the program types the probes use and the
// ones they do not (kprobes, fentry: tried, so that the checklist says whether they
// exist), run-time statistics, tracefs and kernel symbol addresses.

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "harness/doctor/checks.h"
#include "harness/probes/perf_counters.h"
#include "stack/unique_fd.h"

namespace zcb::doctor {
namespace {

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

}  // namespace

std::vector<SupportCheck> BpfChecks(const TracepointCatalog& catalog) {
  std::vector<SupportCheck> checks;
  checks.push_back({"bpf", "BTF", catalog.btf_loaded(),
                    catalog.btf_loaded() ? "/sys/kernel/btf/vmlinux loads" : catalog.btf_reason(),
                    catalog.btf_loaded() ? "" : "every eBPF probe (CO-RE needs the kernel BTF)"});
  const bool raw_tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr) == 1;
  checks.push_back(
      {"bpf", "raw tracepoint programs", raw_tp,
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
    checks.push_back(
        {"bpf", "BPF run-time statistics", ok,
         ok ? "bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME) works" : Error(-fd, "bpf(BPF_ENABLE_STATS)").ToString(),
         ok ? "" : "metrics.probes.run_time_ns (the probes' own cost)"});
  }
  checks.push_back({"bpf", "tracefs", catalog.tracefs_available(), catalog.tracefs_status(),
                    catalog.tracefs_available()
                        ? ""
                        : "reading reason names from tracepoint formats (the kernel BTF enums are used instead)"});
  {
    const std::string restrict_level = ReadLine("/proc/sys/kernel/kptr_restrict");
    std::ifstream kallsyms("/proc/kallsyms");
    std::string first;
    std::getline(kallsyms, first);
    const bool ok = !first.empty() && first.rfind("0000000000000000", 0) != 0;
    checks.push_back({"bpf", "kernel symbol addresses", ok,
                      ok ? "/proc/kallsyms shows addresses"
                         : fmt::format("/proc/kallsyms hides addresses (kptr_restrict={})", restrict_level),
                      ok ? "" : "names of IPI callbacks (metrics.probes.ipi_detail.by_callback shows addresses)"});
  }
  return checks;
}

}  // namespace zcb::doctor
