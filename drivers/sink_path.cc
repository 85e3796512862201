#include "drivers/sink_path.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "drivers/interface_info.h"
#include "drivers/live_objects.h"
#include "drivers/namespace_chain.h"
#include "drivers/offload_profile.h"
#include "drivers/tc_sink.h"

namespace zcb {
namespace {

constexpr const char* kPathName = "sink";
// The values of the record's path.sink.sink_device.
constexpr const char* kDummy = "dummy";
constexpr const char* kVethTcDrop = "veth+tc_drop";

// The address the sender sends to: the sink's side of 198.18.0.0/24. Nothing listens.
constexpr const char* kSenderAddress = "198.18.0.1";
constexpr const char* kSinkAddress = "198.18.0.2";

// path.sink: which device drops, where the packets are counted, the counts since set-up
// and, beside them, the dropping device's own counters (what the driver saw).
nlohmann::json DescribeSink(const NetworkPath& path, const NetNamespace& ns, const std::string& device,
                            const std::string& choice_reason) {
  nlohmann::json sink = {{"sink_device", nullptr}, {"chosen_because", choice_reason}, {"device", device}};
  if (auto counts = path.ReadSink(); counts.ok()) {
    sink["sink_device"] = counts->sink_device;
    sink["counted_at"] = counts->counted_at;
    sink["counts"] = counts->CountsJson();
  } else {
    sink["counts"] = nullptr;
    sink["counts_reason"] = counts.error().ToString();
  }
  if (auto counters = ReadLinkCounters(ns.fd(), device); counters.ok()) {
    sink["device_counters"] = *counters;
  } else {
    sink["device_counters"] = nullptr;
    sink["device_counters_reason"] = counters.error().ToString();
  }
  return sink;
}

sockaddr_storage SinkAddress() {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  ::inet_pton(AF_INET, kSinkAddress, &in->sin_addr);
  return storage;
}

// A veth pair between the sender's namespace and the sink's, whose far end drops every
// packet at tc ingress. The sender knows the far end's MAC address from a permanent
// neighbour entry: an ARP request would be dropped like everything else.
class VethSinkPath final : public NetworkPath {
 public:
  VethSinkPath(std::unique_ptr<NamespaceChain> chain, std::unique_ptr<TcSink> drop, std::string choice_reason)
      : chain_(std::move(chain)), drop_(std::move(drop)), choice_reason_(std::move(choice_reason)) {}

  const std::string& name() const override { return chain_->name(); }
  PathCapabilities capabilities() const override { return chain_->capabilities(); }
  Status EnterSenderSide() override { return chain_->EnterSenderSide(); }
  Status EnterReceiverSide() override {
    return Errorf("path {} has no receiver side: its far end drops everything", name());
  }
  sockaddr_storage ReceiverAddress() const override { return chain_->ReceiverAddress(); }
  std::optional<LinkLayerInfo> link_layer() const override { return chain_->link_layer(); }

  nlohmann::json Describe() const override {
    nlohmann::json d = chain_->Describe();
    d["sink"] = DescribeSink(*this, chain_->receiver_namespace(), chain_->receiver_device(), choice_reason_);
    return d;
  }

  Result<SinkCounts> ReadSink() const override {
    ZCB_ASSIGN_OR_RETURN(SinkCounts counts, drop_->Read());
    counts.sink_device = kVethTcDrop;
    return counts;
  }

 private:
  std::unique_ptr<NamespaceChain> chain_;
  std::unique_ptr<TcSink> drop_;
  std::string choice_reason_;
};

Result<std::unique_ptr<NetworkPath>> CreateVethSink(const OffloadProfile& profile, std::string choice_reason) {
  ChainConfig config;
  config.path_name = kPathName;
  config.description =
      "the sender in a network namespace whose veth peer drops every packet at tc ingress (BPF, TC_ACT_SHOT) "
      "before local delivery: no receiver";
  config.caps = SinkPathInfo().caps;
  config.profile = profile;
  ZCB_ASSIGN_OR_RETURN(std::unique_ptr<NamespaceChain> chain, BuildNamespaceChain(std::move(config)));
  const nlohmann::json described = chain->Describe();
  const std::string far_mac = described["interfaces"][1]["mac"].get<std::string>();
  ZCB_RETURN_IF_ERROR(chain->sender_namespace().Run(
      {"ip", "neigh", "replace", kSinkAddress, "lladdr", far_mac, "dev", chain->sender_device(), "nud", "permanent"}));
  auto drop = TcSink::Attach(chain->receiver_namespace(), chain->receiver_device(), TcSink::Hook::kIngress,
                             TcSink::Verdict::kDrop);
  if (!drop.ok()) return std::move(drop).error().Context("set up path sink");
  return std::unique_ptr<NetworkPath>(
      std::make_unique<VethSinkPath>(std::move(chain), std::move(*drop), std::move(choice_reason)));
}

// One namespace with a dummy device: the dummy driver frees every packet it is given.
// The same BPF program counts them at the device's tc egress, passing them on.
class DummySinkPath final : public NetworkPath {
 public:
  DummySinkPath(NetNamespace ns, std::string device) : ns_(std::move(ns)), device_(std::move(device)) {}

  Status Build(const OffloadProfile& profile, const std::string& object_id);

  const std::string& name() const override { return name_; }
  PathCapabilities capabilities() const override { return SinkPathInfo().caps; }
  Status EnterSenderSide() override { return ns_.Enter(); }
  Status EnterReceiverSide() override {
    return Errorf("path {} has no receiver side: its dummy device drops everything", name());
  }
  sockaddr_storage ReceiverAddress() const override { return SinkAddress(); }
  std::optional<LinkLayerInfo> link_layer() const override { return link_layer_; }

  nlohmann::json Describe() const override {
    nlohmann::json d = description_;
    if (auto interface = DescribeInterface(ns_, device_, "sender"); interface.ok()) d["interfaces"] = {*interface};
    d["sink"] = DescribeSink(*this, ns_, device_, "the kernel has dummy devices");
    return d;
  }

  Result<SinkCounts> ReadSink() const override {
    ZCB_ASSIGN_OR_RETURN(SinkCounts counts, counter_->Read());
    counts.sink_device = kDummy;
    return counts;
  }

 private:
  std::string name_ = kPathName;
  NetNamespace ns_;
  std::string device_;
  std::unique_ptr<TcSink> counter_;
  nlohmann::json description_;
  LinkLayerInfo link_layer_;
};

Status DummySinkPath::Build(const OffloadProfile& profile, const std::string& object_id) {
  ZCB_RETURN_IF_ERROR(ns_.Run({"ip", "link", "set", "dev", device_, "mtu", std::to_string(profile.mtu)}));
  ZCB_RETURN_IF_ERROR(ApplyOffloads(ns_, device_, profile));
  ZCB_RETURN_IF_ERROR(ns_.Run({"ip", "addr", "add", std::string(kSenderAddress) + "/24", "dev", device_}));
  ZCB_RETURN_IF_ERROR(ns_.Run({"ip", "link", "set", "dev", device_, "up"}));
  ZCB_ASSIGN_OR_RETURN(counter_, TcSink::Attach(ns_, device_, TcSink::Hook::kEgress, TcSink::Verdict::kPass));
  ZCB_ASSIGN_OR_RETURN(const nlohmann::json link, ReadLink(ns_.fd(), device_));
  link_layer_.sender_interface = device_;
  link_layer_.sender_ifindex = link["ifindex"].get<int>();
  link_layer_.mtu = link["mtu"].get<int>();
  if (!ParseMac(link["mac"].get<std::string>(), link_layer_.sender_mac)) {
    return Errorf("path sink: unparseable MAC address of {}", device_);
  }
  // Nothing answers on a dummy device (it has no ARP): frames may carry any next hop. A
  // locally administered unicast address.
  link_layer_.next_hop_mac = {0x02, 0, 0, 0, 0, 0x02};
  ::inet_pton(AF_INET, kSenderAddress, &link_layer_.sender_ip);
  ::inet_pton(AF_INET, kSinkAddress, &link_layer_.receiver_ip);
  description_ = {
      {"name", kPathName},
      {"description",
       "the sender in a network namespace whose dummy device frees every packet it is given: no receiver"},
      {"object_id", object_id},
      {"namespaces", {ns_.name()}},
      {"profile", profile.ToJson()},
      {"shapers", nlohmann::json::array()},
  };
  return OkStatus();
}

// The sink for `device` (auto, dummy, veth): a dummy device where the kernel makes one
// (auto, dummy), else the veth pair with the drop program (auto, veth).
Result<std::unique_ptr<NetworkPath>> CreateSink(const Options& options) {
  ZCB_RETURN_IF_ERROR(RequireDevicePathPrivileges(kPathName));
  const OffloadProfile profile = OffloadProfile::FromOptions(options);
  const std::string& wanted = options.GetString("device");
  if (wanted == "veth") return CreateVethSink(profile, "path option device=veth");
  ZCB_ASSIGN_OR_RETURN(const std::string id, NewObjectId());
  ZCB_ASSIGN_OR_RETURN(NetNamespace ns, NetNamespace::Create(fmt::format("{}{}-snd", kObjectPrefix, id)));
  DisableIpv6(ns);
  const std::string device = InterfaceName("-d");
  // Whether the kernel has dummy devices is known by making one (the module may load on
  // demand).
  ZCB_ASSIGN_OR_RETURN(const CommandOutput added, ns.RunStatus({"ip", "link", "add", device, "type", "dummy"}));
  if (added.exit_code != 0) {
    const std::string said = added.err.substr(0, added.err.find_last_not_of(" \n") + 1);
    const std::string why =
        fmt::format("no dummy device on this kernel (ip link add type dummy: {})", said.empty() ? "failed" : said);
    if (wanted == "dummy") {
      return Errorf("path sink device=dummy: {}; use device=veth or auto", why).Kind(ErrorKind::kUnsupported);
    }
    return CreateVethSink(profile, why);
  }
  auto path = std::make_unique<DummySinkPath>(std::move(ns), device);
  if (auto built = path->Build(profile, id); !built.ok()) return std::move(built).error().Context("set up path sink");
  return std::unique_ptr<NetworkPath>(std::move(path));
}

}  // namespace

PathInfo SinkPathInfo() {
  PathInfo info;
  info.name = kPathName;
  info.summary =
      "no receiver: a dummy device or a veth pair dropping at tc ingress frees every packet before local delivery, "
      "so zero-copy sends are not copied; UDP only; needs root";
  // A link layer (Ethernet frames reach the device), no local delivery: what a
  // zero-copy sender lends is never copied.
  info.caps = {.needs_root = true,
               .has_link_layer = true,
               .local_delivery = false,
               .remote_receiver = false,
               .has_receiver = false};
  info.options = DevicePathOptions();
  info.options.push_back(
      {"device",
       OptionType::kChoice,
       "auto",
       "what drops the packets: auto (a dummy device where the kernel has one, else veth), dummy, or "
       "veth (a veth pair whose far end drops at tc ingress with a BPF program)",
       {"auto", "dummy", "veth"}});
  info.validate = [](const Options& options) { return ValidateDevicePathOptions(options, /*with_shaper=*/false); };
  info.create = CreateSink;
  return info;
}

}  // namespace zcb
