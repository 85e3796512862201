// Loader of net_traffic.bpf.c: receive copies, bytes received, transmits per device, how
// transmitted data was held (copied, spliced, lent), TCP retransmissions.

#include <sys/stat.h>

#include <map>

#include <fmt/format.h>

#include "harness/probes/net_traffic.h"
#include "harness/probes/net_traffic.skel.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kCopy = "skb:skb_copy_datagram_iovec";
constexpr const char* kXmit = "net:net_dev_xmit";
constexpr const char* kStartXmit = "net:net_dev_start_xmit";
constexpr const char* kRetransmit = "tcp:tcp_retransmit_skb";
constexpr const char* kRecv = "sock:sock_recv_length";

struct XmitKeyLess {
  bool operator()(const zcb_xmit_key& a, const zcb_xmit_key& b) const {
    const int c = std::memcmp(a.name, b.name, sizeof a.name);
    return c != 0 ? c < 0 : a.netns < b.netns;
  }
};

uint32_t OwnNetnsInode() {
  struct stat st {};
  return ::stat("/proc/self/ns/net", &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

class NetTrafficGroup : public TracepointGroup {
 public:
  NetTrafficGroup() : TracepointGroup("net_traffic") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<net_traffic_bpf>());
    skel_->rodata->target_tgid = config.target_tgid;
    own_netns_ = OwnNetnsInode();
    return LoadAndAttach({{skel_->progs.count_kernel_copy, kCopy},
                          {skel_->progs.count_xmit, kXmit},
                          {skel_->progs.classify_xmit, kStartXmit},
                          {skel_->progs.count_retransmit, kRetransmit},
                          {skel_->progs.count_recv, kRecv}},
                         config, [this] { return net_traffic_bpf::load(skel_); });
  }

  void Snapshot(bool end) override {
    if (!end) snapshot_error_.clear();
    auto counts = SumPerCpuValue<uint32_t, zcb_net_counts>(skel_->maps.net_counts, 0);
    auto devices = SumPerCpuHash<zcb_xmit_key, zcb_xmit_counts>(skel_->maps.xmit_by_device);
    if (!counts.ok() || !devices.ok()) {
      snapshot_error_ = (!counts.ok() ? counts.error() : devices.error()).ToString();
      window_ = {};
      return;
    }
    (end ? end_ : begin_) = *counts;
    auto& by_device = end ? end_devices_ : begin_devices_;
    by_device.clear();
    for (const auto& [key, value] : *devices) by_device[key] = value;
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
    if (Available(kXmit, "xmit_packets", probes)) {
      uint64_t packets = 0, bytes = 0, errors = 0;
      nlohmann::json by_device = nlohmann::json::object();
      for (const auto& [key, after] : end_devices_) {
        auto before = begin_devices_.find(key);
        const zcb_xmit_counts x = before == begin_devices_.end() ? after : CounterDelta(after, before->second);
        if (x.packets == 0 && x.errors == 0) continue;
        packets += x.packets;
        bytes += x.bytes;
        errors += x.errors;
        by_device[DeviceName(key)] = {{"packets", x.packets}, {"bytes", x.bytes}, {"errors", x.errors}};
      }
      probes["xmit_packets"] = packets;
      probes["xmit_bytes"] = bytes;
      probes["xmit_errors"] = errors;
      probes["xmit_by_device"] = by_device;
      if (d.device_overflow > 0) probes["xmit_device_overflow"] = d.device_overflow;
    } else {
      probes["xmit_bytes"] = nullptr;
      probes["xmit_bytes_reason"] = probes["xmit_packets_reason"];
    }
    if (Available(kStartXmit, "xmit_in_process", probes)) {
      probes["xmit_in_process"] = {{"packets", d.xmit_in_process_packets},
                                   {"copied_bytes", d.xmit_in_process_copied_bytes},
                                   {"spliced_bytes", d.xmit_in_process_spliced_bytes},
                                   {"zerocopy_bytes", d.xmit_in_process_zerocopy_bytes}};
    }
    if (Available(kRetransmit, "retransmits", probes)) probes["retransmits"] = d.retransmits;
  }

  const DataMovementWindow& window() const { return window_; }

 private:
  void UpdateWindow() {
    const zcb_net_counts d = CounterDelta(end_, begin_);
    auto attached = [this](const char* tracepoint) {
      const TracepointProgram* p = ProgramFor(tracepoint);
      return p != nullptr && p->attached();
    };
    window_ = {};
    if (attached(kCopy)) window_.kernel_copy_bytes = d.copy_bytes_in_process;
    if (attached(kRecv)) window_.recv_copy_bytes = d.recv_copy_bytes_in_process;
    if (attached(kStartXmit)) {
      window_.xmit_copied_bytes = d.xmit_in_process_copied_bytes;
      window_.xmit_spliced_bytes = d.xmit_in_process_spliced_bytes;
      window_.xmit_zerocopy_bytes = d.xmit_in_process_zerocopy_bytes;
    }
  }

  // "lo" for a device of this process's network namespace, "veth0@netns:4026532" else.
  std::string DeviceName(const zcb_xmit_key& key) const {
    const std::string name(key.name, strnlen(key.name, sizeof key.name));
    return key.netns == own_netns_ ? name : fmt::format("{}@netns:{}", name, key.netns);
  }

  net_traffic_bpf* skel_ = nullptr;
  uint32_t own_netns_ = 0;
  zcb_net_counts begin_{}, end_{};
  std::map<zcb_xmit_key, zcb_xmit_counts, XmitKeyLess> begin_devices_, end_devices_;
  DataMovementWindow window_;
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenNetTrafficGroup(const GroupConfig& config) {
  auto group = std::make_unique<NetTrafficGroup>();
  ZCB_RETURN_IF_ERROR(group->Open(config));
  return std::unique_ptr<TracepointGroup>(std::move(group));
}

DataMovementWindow NetTrafficWindow(const TracepointGroup& group) {
  if (const auto* net = dynamic_cast<const NetTrafficGroup*>(&group)) return net->window();
  return {};
}

}  // namespace zcb
