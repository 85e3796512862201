// Loader of xmit_devices.bpf.c: skbs transmitted per device over the window.

#include <sys/stat.h>

#include <cstring>
#include <map>

#include <fmt/format.h>

#include "harness/probes/tracepoint_groups.h"
#include "harness/probes/xmit_devices.h"
#include "harness/probes/xmit_devices.skel.h"

namespace zcb {
namespace {

constexpr const char* kXmit = "net:net_dev_xmit";

struct XmitKeyLess {
  bool operator()(const zcb_xmit_key& a, const zcb_xmit_key& b) const {
    const int c = std::memcmp(a.name, b.name, sizeof a.name);
    return c != 0 ? c < 0 : a.netns < b.netns;
  }
};

using DeviceCounts = std::map<zcb_xmit_key, zcb_xmit_counts, XmitKeyLess>;

uint32_t OwnNetnsInode() {
  struct stat st {};
  return ::stat("/proc/self/ns/net", &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

class XmitDevicesGroup : public TracepointGroup {
 public:
  XmitDevicesGroup() : TracepointGroup("xmit_devices") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<xmit_devices_bpf>());
    own_netns_ = OwnNetnsInode();
    return LoadAndAttach({{skel_->progs.count_xmit, kXmit}}, config, [this] { return xmit_devices_bpf::load(skel_); });
  }

  void Snapshot(bool end) override {
    if (!end) snapshot_error_.clear();
    auto devices = SumPerCpuHash<zcb_xmit_key, zcb_xmit_counts>(skel_->maps.xmit_by_device);
    auto overflow = SumPerCpuValue<uint32_t, uint64_t>(skel_->maps.device_overflow, 0);
    if (!devices.ok() || !overflow.ok()) {
      snapshot_error_ = (!devices.ok() ? devices.error() : overflow.error()).ToString();
      return;
    }
    DeviceCounts& by_device = end ? end_devices_ : begin_devices_;
    by_device.clear();
    for (const auto& [key, value] : *devices) by_device[key] = value;
    (end ? end_overflow_ : begin_overflow_) = *overflow;
  }

  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    if (!Available(kXmit, "xmit_packets", probes)) {
      probes["xmit_bytes"] = nullptr;
      probes["xmit_bytes_reason"] = probes["xmit_packets_reason"];
      return;
    }
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
    if (end_overflow_ > begin_overflow_) probes["xmit_device_overflow"] = end_overflow_ - begin_overflow_;
  }

 private:
  // "lo" for a device of this process's network namespace, "veth0@netns:4026532" else.
  std::string DeviceName(const zcb_xmit_key& key) const {
    const std::string name(key.name, strnlen(key.name, sizeof key.name));
    return key.netns == own_netns_ ? name : fmt::format("{}@netns:{}", name, key.netns);
  }

  xmit_devices_bpf* skel_ = nullptr;
  uint32_t own_netns_ = 0;
  DeviceCounts begin_devices_, end_devices_;
  uint64_t begin_overflow_ = 0, end_overflow_ = 0;
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenXmitDevicesGroup(const GroupConfig& config) {
  return MakeOpenedGroup<XmitDevicesGroup>(config);
}

}  // namespace zcb
