// Loader of net_traffic.bpf.c: receive copies, bytes received, how transmitted data was
// held (copied, spliced, lent), TCP retransmissions.

#include <vector>

#include "harness/probes/net_traffic.h"
#include "harness/probes/net_traffic.skel.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kCopy = "skb:skb_copy_datagram_iovec";
constexpr const char* kStartXmit = "net:net_dev_start_xmit";
constexpr const char* kRetransmit = "tcp:tcp_retransmit_skb";
constexpr const char* kRecv = "sock:sock_recv_length";
constexpr const char* kSend = "sock:sock_send_length";

class NetTrafficGroup : public TracepointGroup {
 public:
  NetTrafficGroup() : TracepointGroup("net_traffic") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<net_traffic_bpf>());
    skel_->rodata->target_tgid = config.target_tgid;
    return LoadAndAttach({{skel_->progs.count_kernel_copy, kCopy},
                          {skel_->progs.remember_socket, kSend},
                          {skel_->progs.classify_xmit, kStartXmit},
                          {skel_->progs.count_retransmit, kRetransmit},
                          {skel_->progs.count_recv, kRecv}},
                         config, [this] { return net_traffic_bpf::load(skel_); });
  }

  void Snapshot(bool end) override {
    if (!end) {
      snapshot_error_.clear();
      ForgetSockets();
    }
    auto counts = SumPerCpuValue<uint32_t, zcb_net_counts>(skel_->maps.net_counts, 0);
    if (!counts.ok()) {
      snapshot_error_ = counts.error().ToString();
      window_ = {};
      return;
    }
    (end ? end_ : begin_) = *counts;
    if (end) UpdateWindow();
  }

  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    const zcb_net_counts d = CounterDelta(end_, begin_);
    if (Available(kCopy, "kernel_copy_bytes", probes)) {
      probes["kernel_copy_bytes"] = d.copy_bytes;
      probes["kernel_copy_bytes_in_process"] = d.copy_bytes_in_process;
      probes["kernel_copy_calls"] = d.copy_calls;
    }
    if (Available(kRecv, "recv_copy_bytes", probes)) {
      probes["recv_bytes"] = d.recv_bytes;
      probes["recv_copy_bytes"] = d.recv_copy_bytes;
      probes["recv_copy_bytes_in_process"] = d.recv_copy_bytes_in_process;
    }
    // The classification needs both: the trial's sockets, and their transmits.
    if (Available(kSend, "xmit_in_process", probes) && Available(kStartXmit, "xmit_in_process", probes)) {
      probes["xmit_in_process"] = {{"packets", d.xmit_in_process_packets},
                                   {"copied_bytes", d.xmit_in_process_copied_bytes},
                                   {"spliced_bytes", d.xmit_in_process_spliced_bytes},
                                   {"zerocopy_bytes", d.xmit_in_process_zerocopy_bytes}};
    }
    if (Available(kRetransmit, "retransmits", probes)) probes["retransmits"] = d.retransmits;
  }

  const DataMovementWindow& window() const { return window_; }

 private:
  // A window counts the transmits of the sockets its trial sends on. The kernel reuses a
  // closed socket's memory for new sockets, other processes' too: the sockets of earlier
  // trials are forgotten before each window, so that a reused address is not the trial's.
  void ForgetSockets() {
    const int fd = bpf_map__fd(skel_->maps.trial_sockets);
    std::vector<uint64_t> keys;
    uint64_t key = 0, next = 0;
    const void* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, &next) == 0) {
      keys.push_back(next);
      key = next;
      previous = &key;
    }
    for (const uint64_t k : keys) bpf_map_delete_elem(fd, &k);
    // And the per-CPU "last socket seen", so that the first send re-remembers it.
    const std::vector<uint64_t> none(static_cast<size_t>(PossibleCpus()), 0);
    const uint32_t zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.last_socket), &zero, none.data(), BPF_ANY) != 0) {
      snapshot_error_ = SysError("reset BPF map last_socket").ToString();
    }
  }

  void UpdateWindow() {
    const zcb_net_counts d = CounterDelta(end_, begin_);
    auto attached = [this](const char* tracepoint) {
      const TracepointProgram* p = ProgramFor(tracepoint);
      return p != nullptr && p->attached();
    };
    window_ = {};
    if (attached(kCopy)) window_.kernel_copy_bytes = d.copy_bytes_in_process;
    if (attached(kRecv)) window_.recv_copy_bytes = d.recv_copy_bytes_in_process;
    if (attached(kSend) && attached(kStartXmit)) {
      window_.xmit_copied_bytes = d.xmit_in_process_copied_bytes;
      window_.xmit_spliced_bytes = d.xmit_in_process_spliced_bytes;
      window_.xmit_zerocopy_bytes = d.xmit_in_process_zerocopy_bytes;
    }
  }

  net_traffic_bpf* skel_ = nullptr;
  zcb_net_counts begin_{}, end_{};
  DataMovementWindow window_;
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenNetTrafficGroup(const GroupConfig& config) {
  return MakeOpenedGroup<NetTrafficGroup>(config);
}

DataMovementWindow NetTrafficWindow(const TracepointGroup& group) {
  if (const auto* net = dynamic_cast<const NetTrafficGroup*>(&group)) return net->window();
  return {};
}

}  // namespace zcb
