#include "drivers/tc_sink.h"

#include <net/if.h>

#include <cerrno>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "drivers/sink.h"
#include "drivers/sink.skel.h"

namespace zcb {
namespace {

// From linux/pkt_cls.h: the verdicts the program returns.
constexpr int kTcActOk = 0;
constexpr int kTcActShot = 2;

// libbpf returns -errno.
Error LibbpfError(int err, const std::string& what) { return Error(err < 0 ? -err : err, what); }

}  // namespace

Result<std::unique_ptr<TcSink>> TcSink::Attach(const NetNamespace& ns, const std::string& device, Hook hook,
                                               Verdict verdict) {
  const char* hook_name = hook == Hook::kIngress ? "ingress" : "egress";
  errno = 0;
  sink_bpf* skel = sink_bpf::open(nullptr);
  if (skel == nullptr) return Error(errno != 0 ? errno : EINVAL, "open the sink's BPF skeleton");
  std::unique_ptr<TcSink> sink(
      new TcSink(skel, fmt::format("tc {} of {} (cls_bpf direct-action, BPF per-CPU map)", hook_name, device)));
  skel->rodata->verdict = verdict == Verdict::kDrop ? kTcActShot : kTcActOk;
  if (const int err = sink_bpf::load(skel); err != 0) {
    return LibbpfError(err, "load the sink's BPF program (needs CAP_BPF or root, and BTF)");
  }
  const int prog_fd = bpf_program__fd(skel->progs.sink_count);
  // Netlink acts in the calling thread's namespace: attach from inside the device's.
  ZCB_RETURN_IF_ERROR(ns.RunInside([&]() -> Status {
    const unsigned ifindex = ::if_nametoindex(device.c_str());
    if (ifindex == 0) return SysError(fmt::format("sink: no device {} in namespace {}", device, ns.name()));
    bpf_tc_hook tc_hook{};
    tc_hook.sz = sizeof tc_hook;
    tc_hook.ifindex = static_cast<int>(ifindex);
    tc_hook.attach_point = hook == Hook::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    if (const int err = bpf_tc_hook_create(&tc_hook); err != 0 && err != -EEXIST) {
      return LibbpfError(err,
                         fmt::format("sink: add a clsact qdisc to {} (tc qdisc add dev {} clsact)", device, device));
    }
    bpf_tc_opts tc_opts{};
    tc_opts.sz = sizeof tc_opts;
    tc_opts.prog_fd = prog_fd;
    tc_opts.handle = 1;
    tc_opts.priority = 1;
    if (const int err = bpf_tc_attach(&tc_hook, &tc_opts); err != 0) {
      return LibbpfError(err, fmt::format("sink: attach the BPF classifier at {} {}", device, hook_name));
    }
    return OkStatus();
  }));
  return sink;
}

TcSink::~TcSink() { sink_bpf::destroy(skel_); }

Result<SinkCounts> TcSink::Read() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return LibbpfError(cpus, "sink: count the possible CPUs");
  std::vector<zcb_sink_counts> per_cpu(static_cast<size_t>(cpus));
  const uint32_t key = 0;
  if (const int err = bpf_map__lookup_elem(skel_->maps.sink_counts, &key, sizeof key, per_cpu.data(),
                                           per_cpu.size() * sizeof(zcb_sink_counts), 0);
      err != 0) {
    return LibbpfError(err, "sink: read the BPF program's counts");
  }
  SinkCounts counts;
  counts.counted_at = where_;
  for (const zcb_sink_counts& c : per_cpu) {
    counts.udp_skbs += c.udp_skbs;
    counts.udp_datagrams += c.udp_datagrams;
    counts.udp_payload_bytes += c.udp_payload_bytes;
    counts.udp_fragments += c.udp_fragments;
    counts.other_skbs += c.other_skbs;
    counts.other_bytes += c.other_bytes;
  }
  return counts;
}

}  // namespace zcb
