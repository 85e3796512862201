#include "drivers/namespace_chain.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "drivers/interface_info.h"
#include "drivers/live_objects.h"
#include "drivers/privilege.h"

namespace zcb {
namespace {

std::string SegmentAddress(int segment, int host) { return fmt::format("198.18.{}.{}", segment, host); }

Status WithContext(Result<CommandOutput> result, const std::string& context) {
  if (!result.ok()) return std::move(result).error().Context(context);
  return OkStatus();
}

struct Device {
  std::string name;
  std::string role;
  size_t ns;  // index into the chain's namespaces
};

class NamespaceChainPath final : public NamespaceChain {
 public:
  explicit NamespaceChainPath(ChainConfig config) : config_(std::move(config)) {}

  const std::string& name() const override { return config_.path_name; }
  PathCapabilities capabilities() const override { return config_.caps; }
  Status EnterSenderSide() override { return namespaces_.front().Enter(); }
  Status EnterReceiverSide() override { return namespaces_.back().Enter(); }

  sockaddr_storage ReceiverAddress() const override {
    sockaddr_storage storage{};
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_addr = link_layer_.receiver_ip;
    return storage;
  }

  nlohmann::json Describe() const override {
    nlohmann::json d = description_;
    // The qdisc counters (sent, dropped, overlimits) as they are now, after the trial.
    for (size_t i = 0; i < devices_.size(); ++i) {
      auto qdiscs = ReadQdiscs(namespaces_[devices_[i].ns], devices_[i].name);
      if (qdiscs.ok()) d["interfaces"][i]["qdiscs"] = *qdiscs;
    }
    return d;
  }

  std::optional<LinkLayerInfo> link_layer() const override { return link_layer_; }

  Status CheckIntact() const override {
    for (const NetNamespace& ns : namespaces_) {
      if (Status named = ns.CheckNamed(); !named.ok()) {
        return std::move(named).error().Context("path " + config_.path_name);
      }
    }
    return OkStatus();
  }

  const NetNamespace& sender_namespace() const override { return namespaces_.front(); }
  const NetNamespace& receiver_namespace() const override { return namespaces_.back(); }
  const std::string& sender_device() const override { return devices_.front().name; }
  const std::string& receiver_device() const override { return devices_.back().name; }

  Status Build();

 private:
  Status AddVeth(size_t left_ns, const std::string& left, size_t right_ns, const std::string& right);
  Status DescribeChain(const std::string& object_id);

  ChainConfig config_;
  std::vector<NetNamespace> namespaces_;
  std::vector<Device> devices_;
  nlohmann::json description_;
  LinkLayerInfo link_layer_;
};

Status NamespaceChainPath::AddVeth(size_t left_ns, const std::string& left, size_t right_ns, const std::string& right) {
  // Created directly inside both namespaces: the pair never appears in the caller's.
  return WithContext(RunCommand({"ip", "link", "add", left, "netns", namespaces_[left_ns].name(), "type", "veth",
                                 "peer", "name", right, "netns", namespaces_[right_ns].name()}),
                     "create the veth pair " + left + "/" + right);
}

Status NamespaceChainPath::Build() {
  ZCB_ASSIGN_OR_RETURN(const std::string id, NewObjectId());
  std::vector<std::string> roles = {"snd"};
  if (config_.with_router) roles.push_back("rtr");
  roles.push_back("rcv");
  for (const auto& role : roles) {
    ZCB_ASSIGN_OR_RETURN(NetNamespace ns, NetNamespace::Create(fmt::format("{}{}-{}", kObjectPrefix, id, role)));
    DisableIpv6(ns);
    namespaces_.push_back(std::move(ns));
  }
  const size_t last = namespaces_.size() - 1;
  devices_.push_back({InterfaceName("-s"), "sender", 0});
  if (config_.with_router) {
    devices_.push_back({InterfaceName("-a"), "router-in", 1});
    devices_.push_back({InterfaceName("-b"), "router-out", 1});
  }
  devices_.push_back({InterfaceName("-r"), "receiver", last});
  // Devices pair up in order: (0,1), (2,3).
  for (size_t i = 0; i + 1 < devices_.size(); i += 2) {
    ZCB_RETURN_IF_ERROR(AddVeth(devices_[i].ns, devices_[i].name, devices_[i + 1].ns, devices_[i + 1].name));
  }
  for (const auto& dev : devices_) {
    ZCB_RETURN_IF_ERROR(WithContext(
        namespaces_[dev.ns].Run({"ip", "link", "set", "dev", dev.name, "mtu", std::to_string(config_.profile.mtu)}),
        fmt::format("path option mtu={}", config_.profile.mtu)));
  }
  ZCB_RETURN_IF_ERROR(ApplyOffloads(namespaces_[0], devices_[0].name, config_.profile));
  for (size_t i = 0; i < devices_.size(); ++i) {
    const Device& dev = devices_[i];
    const int segment = static_cast<int>(i / 2);
    const std::string address = SegmentAddress(segment, i % 2 == 0 ? 1 : 2) + "/24";
    ZCB_RETURN_IF_ERROR(namespaces_[dev.ns].Run({"ip", "addr", "add", address, "dev", dev.name}));
    ZCB_RETURN_IF_ERROR(namespaces_[dev.ns].Run({"ip", "link", "set", "dev", dev.name, "up"}));
  }
  if (config_.with_router) {
    ZCB_RETURN_IF_ERROR(namespaces_[1].Run({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"}));
    // Only the benchmarking range, through the neighbour: never a default route.
    ZCB_RETURN_IF_ERROR(namespaces_[0].Run({"ip", "route", "add", "198.18.0.0/15", "via", SegmentAddress(0, 2)}));
    ZCB_RETURN_IF_ERROR(namespaces_[last].Run({"ip", "route", "add", "198.18.0.0/15", "via", SegmentAddress(1, 1)}));
  }
  if (config_.sender_shaper)
    ZCB_RETURN_IF_ERROR(InstallShaper(namespaces_[0], devices_[0].name, *config_.sender_shaper));
  if (config_.router_shaper)
    ZCB_RETURN_IF_ERROR(InstallShaper(namespaces_[1], devices_[2].name, *config_.router_shaper));
  return DescribeChain(id);
}

Status NamespaceChainPath::DescribeChain(const std::string& object_id) {
  nlohmann::json interfaces = nlohmann::json::array();
  for (const auto& dev : devices_) {
    ZCB_ASSIGN_OR_RETURN(nlohmann::json info, DescribeInterface(namespaces_[dev.ns], dev.name, dev.role));
    interfaces.push_back(std::move(info));
  }
  nlohmann::json namespaces = nlohmann::json::array();
  for (const auto& ns : namespaces_) namespaces.push_back(ns.name());
  description_ = {
      {"name", config_.path_name}, {"description", config_.description},  {"object_id", object_id},
      {"namespaces", namespaces},  {"profile", config_.profile.ToJson()}, {"interfaces", interfaces},
  };
  nlohmann::json shapers = nlohmann::json::array();
  if (config_.sender_shaper) {
    nlohmann::json s = config_.sender_shaper->ToJson();
    s["device"] = devices_[0].name;
    s["where"] = "sender egress";
    shapers.push_back(s);
  }
  if (config_.router_shaper) {
    nlohmann::json s = config_.router_shaper->ToJson();
    s["device"] = devices_[2].name;
    s["where"] = "router egress towards the receiver";
    shapers.push_back(s);
  }
  description_["shapers"] = shapers;

  // What a frame-level sender needs: its device and the next hop's MAC.
  const nlohmann::json& sender = interfaces[0];
  const nlohmann::json& next_hop = interfaces[1];
  link_layer_.sender_interface = devices_[0].name;
  link_layer_.sender_ifindex = sender["ifindex"].get<int>();
  link_layer_.mtu = sender["mtu"].get<int>();
  if (!ParseMac(sender["mac"].get<std::string>(), link_layer_.sender_mac) ||
      !ParseMac(next_hop["mac"].get<std::string>(), link_layer_.next_hop_mac)) {
    return Errorf("path {}: unparseable MAC address in 'ip -j addr' output", config_.path_name);
  }
  ::inet_pton(AF_INET, SegmentAddress(0, 1).c_str(), &link_layer_.sender_ip);
  ::inet_pton(AF_INET, SegmentAddress(static_cast<int>(devices_.size() / 2 - 1), 2).c_str(), &link_layer_.receiver_ip);
  return OkStatus();
}

}  // namespace

Status ValidateDevicePathOptions(const Options& options, bool with_shaper) {
  const int64_t mtu = options.GetInt("mtu");
  if (mtu < 68 || mtu > 65535) return Errorf("path option mtu={}: expected 68 to 65535 bytes", mtu);
  if (with_shaper) ZCB_RETURN_IF_ERROR(ShaperFromOptions(options, static_cast<int>(mtu)));
  return OkStatus();
}

void DisableIpv6(const NetNamespace& ns) {
  (void)ns.RunStatus(
      {"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"});
}

Status RequireDevicePathPrivileges(const std::string& path_name) {
  return RequireCapabilities({Capability::kNetAdmin, Capability::kSysAdmin}, "path " + path_name,
                             "it creates network namespaces, veth links and qdiscs and moves the trial's threads into "
                             "the namespaces");
}

Result<std::unique_ptr<NamespaceChain>> BuildNamespaceChain(ChainConfig config) {
  ZCB_RETURN_IF_ERROR(RequireDevicePathPrivileges(config.path_name));
  auto path = std::make_unique<NamespaceChainPath>(std::move(config));
  if (auto built = path->Build(); !built.ok()) {
    return std::move(built).error().Context("set up path " + path->name());
  }
  return std::unique_ptr<NamespaceChain>(std::move(path));
}

Result<std::unique_ptr<NetworkPath>> CreateNamespaceChain(ChainConfig config) {
  ZCB_ASSIGN_OR_RETURN(std::unique_ptr<NamespaceChain> chain, BuildNamespaceChain(std::move(config)));
  return std::unique_ptr<NetworkPath>(std::move(chain));
}

}  // namespace zcb
