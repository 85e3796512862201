#include "drivers/interface_config.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "drivers/command.h"
#include "drivers/interface_info.h"
#include "drivers/live_objects.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

Result<nlohmann::json> CommandJson(const std::vector<std::string>& argv) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv));
  nlohmann::json parsed = nlohmann::json::parse(out.out, nullptr, false);
  if (parsed.is_discarded()) return Errorf("'{}': unparseable JSON output", FormatCommand(argv));
  return parsed;
}

// The prefix length of a route's "dst" ("default" is /0, an address alone its full length).
int PrefixLength(const std::string& dst) {
  if (dst == "default") return 0;
  const size_t slash = dst.find('/');
  if (slash != std::string::npos) return std::atoi(dst.c_str() + slash + 1);
  return dst.find(':') != std::string::npos ? 128 : 32;
}

// The four switches' states as `ethtool -k` reports them now.
Result<std::map<std::string, bool>> ReadSwitches(const std::string& device) {
  ZCB_ASSIGN_OR_RETURN(auto features, ReadFeatures(-1, device));
  std::map<std::string, bool> switches;
  for (const auto& s : OffloadSwitches()) {
    if (auto it = features.find(s.feature); it != features.end()) switches[s.option] = it->second;
  }
  return switches;
}

// The root qdisc's handle ("0:" for the kernel's default), or "" when none is listed.
Result<std::string> RootQdiscHandle(const std::string& device) {
  ZCB_ASSIGN_OR_RETURN(nlohmann::json qdiscs, ReadQdiscs(-1, device));
  for (const auto& q : qdiscs) {
    if (q.value("parent", "") == "root") return q.value("handle", "");
  }
  return std::string();
}

// The settings as they are now differ from the saved ones in: (empty: none).
std::string CheckRestored(const SavedInterface& saved) {
  std::vector<std::string> wrong;
  if (saved.mtu) {
    auto link = ReadLink(-1, saved.device);
    const int now = link.ok() ? link->value("mtu", 0) : 0;
    if (now != *saved.mtu) wrong.push_back(fmt::format("mtu is {}, was {}", now, *saved.mtu));
  }
  if (!saved.offloads.empty()) {
    auto read = ReadSwitches(saved.device);
    const std::map<std::string, bool> now = read.ok() ? *read : std::map<std::string, bool>();
    for (const auto& [option, on] : saved.offloads) {
      auto it = now.find(option);
      if (it == now.end() || it->second != on)
        wrong.push_back(fmt::format("{} is not back {}", option, on ? "on" : "off"));
    }
  }
  if (saved.remove_root_qdisc) {
    auto handle = RootQdiscHandle(saved.device);
    if (!handle.ok() || !(handle->empty() || *handle == "0:")) wrong.push_back("the shaper is still its root qdisc");
  }
  std::string out;
  for (const auto& w : wrong) out += (out.empty() ? "" : ", ") + w;
  return out;
}

Status RestoreSaved(const SavedInterface& saved) {
  // Each command's own exit status says little (tc cannot delete a default qdisc that is
  // already back; ethtool fails on nothing to change): the read-back decides.
  for (const auto& argv : saved.RestoreCommands()) (void)RunCommandStatus(argv);
  if (const std::string wrong = CheckRestored(saved); !wrong.empty()) {
    return Errorf("interface {} was not restored: {} (put it back by hand: {})", saved.device, wrong, [&] {
      std::string commands;
      for (const auto& argv : saved.RestoreCommands()) commands += (commands.empty() ? "" : "; ") + FormatCommand(argv);
      return commands;
    }());
  }
  return OkStatus();
}

}  // namespace

std::vector<OptionSpec> InterfaceConfigOptions() {
  std::vector<OptionSpec> options = DevicePathOptions();
  for (OptionSpec& o : options) {
    if (o.name == "mtu")
      o = OptionSpec{
          o.name, o.type, std::string("0"), "MTU of the sender's interface in bytes (68-65535; 0 keeps it)", {}};
  }
  for (auto& o : ShaperOptions("none", /*allow_none=*/true)) options.push_back(std::move(o));
  return options;
}

Result<InterfaceRequest> InterfaceRequestFromOptions(const Options& options, int current_mtu) {
  InterfaceRequest request;
  request.profile = OffloadProfile::FromOptions(options);
  const int mtu = request.profile.mtu;
  if (mtu != 0 && (mtu < 68 || mtu > 65535))
    return Errorf("path option mtu={}: expected 68 to 65535 bytes, or 0 to keep the interface's", mtu);
  ZCB_ASSIGN_OR_RETURN(request.shaper, ShaperFromOptions(options, mtu != 0 ? mtu : current_mtu));
  return request;
}

nlohmann::json InterfaceRequest::ToJson() const {
  nlohmann::json out = profile.ToJson();
  out["mtu"] = profile.mtu == 0 ? nlohmann::json("keep") : nlohmann::json(profile.mtu);
  out["shaper"] = shaper ? shaper->ToJson() : nlohmann::json(nullptr);
  return out;
}

nlohmann::json SavedInterface::ToJson() const {
  nlohmann::json offload_json = nlohmann::json::object();
  for (const auto& [option, on] : offloads) offload_json[option] = on ? "on" : "off";
  return {{"device", device},
          {"ifindex", ifindex},
          {"netns_inode", static_cast<uint64_t>(netns_inode)},
          {"mtu", mtu ? nlohmann::json(*mtu) : nlohmann::json(nullptr)},
          {"offloads", offload_json},
          {"remove_root_qdisc", remove_root_qdisc}};
}

Result<SavedInterface> SavedInterface::FromJson(const nlohmann::json& json) {
  SavedInterface saved;
  try {
    saved.device = json.at("device").get<std::string>();
    saved.ifindex = json.at("ifindex").get<int>();
    saved.netns_inode = static_cast<ino_t>(json.at("netns_inode").get<uint64_t>());
    if (!json.at("mtu").is_null()) saved.mtu = json.at("mtu").get<int>();
    for (const auto& [option, state] : json.at("offloads").items()) {
      bool known = false;
      for (const auto& s : OffloadSwitches()) known = known || s.option == option;
      if (!known || (state != "on" && state != "off"))
        return Errorf("offloads.{}: expected a switch of {} set to on or off", option, "sg, tx_checksum, tso, gso");
      saved.offloads[option] = state == "on";
    }
    saved.remove_root_qdisc = json.at("remove_root_qdisc").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    return Errorf("expected device, ifindex, netns_inode, mtu, offloads, remove_root_qdisc: {}", e.what());
  }
  if (saved.device.empty() || saved.device.size() >= IFNAMSIZ || saved.device.find('/') != std::string::npos ||
      saved.device.front() == '-')
    return Errorf("device '{}' is no interface name", saved.device);
  if (saved.mtu && (*saved.mtu < 68 || *saved.mtu > 65535)) return Errorf("mtu {}: expected 68 to 65535", *saved.mtu);
  return saved;
}

std::vector<std::vector<std::string>> SavedInterface::RestoreCommands() const {
  std::vector<std::vector<std::string>> commands;
  if (remove_root_qdisc) commands.push_back({"tc", "qdisc", "del", "dev", device, "root"});
  if (mtu) commands.push_back({"ip", "link", "set", "dev", device, "mtu", std::to_string(*mtu)});
  if (!offloads.empty()) {
    std::vector<std::string> ethtool = {"ethtool", "-K", device};
    for (const auto& s : OffloadSwitches()) {
      auto it = offloads.find(s.option);
      if (it == offloads.end()) continue;
      ethtool.push_back(s.keyword);
      ethtool.push_back(it->second ? "on" : "off");
    }
    commands.push_back(std::move(ethtool));
  }
  return commands;
}

ino_t CurrentNetnsInode() {
  struct stat st {};
  return ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

bool IsLoopbackDevice(const std::string& device) {
  if (device == "lo") return true;
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq req{};
  if (!fd || device.size() >= IFNAMSIZ) return false;
  std::memcpy(req.ifr_name, device.c_str(), device.size());
  return ::ioctl(fd.get(), SIOCGIFFLAGS, &req) == 0 && (req.ifr_flags & IFF_LOOPBACK) != 0;
}

Result<std::string> SingleRouteDeviceFrom(const std::string& destination, const nlohmann::json& route_get,
                                          const nlohmann::json& matching) {
  if (!route_get.is_array() || route_get.empty() || !route_get[0].contains("dev"))
    return Errorf("no route to {}: the kernel routes it through no interface", destination);
  const std::string device = route_get[0]["dev"].get<std::string>();
  // The most specific matching route: a multipath route lists its nexthops, and traffic
  // to the peer may leave by any of their devices.
  const nlohmann::json* best = nullptr;
  if (matching.is_array()) {
    for (const auto& route : matching) {
      if (!route.is_object() || route.value("type", "unicast") != "unicast") continue;
      if (best == nullptr || PrefixLength(route.value("dst", "")) > PrefixLength(best->value("dst", ""))) {
        best = &route;
      }
    }
  }
  if (best != nullptr && best->contains("nexthops")) {
    std::set<std::string> devices;
    for (const auto& hop : (*best)["nexthops"]) devices.insert(hop.value("dev", ""));
    if (devices.size() > 1) {
      std::string names;
      for (const auto& d : devices) names += (names.empty() ? "" : ", ") + d;
      return Errorf(
          "the route to {} ({}) goes through {} interfaces ({}): configure_interface sets one interface and cannot "
          "say which one the trial's packets take",
          destination, best->value("dst", ""), devices.size(), names);
    }
  }
  return device;
}

Result<std::string> SingleRouteDevice(const std::string& destination) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput get, RunCommandStatus({"ip", "-j", "route", "get", destination}));
  if (get.exit_code != 0) {
    return Errorf("no route to {}: the kernel routes it through no interface (ip route get: {})", destination,
                  get.err.substr(0, get.err.find('\n')));
  }
  nlohmann::json route_get = nlohmann::json::parse(get.out, nullptr, false);
  std::string table = "main";
  if (route_get.is_array() && !route_get.empty() && route_get[0].contains("table"))
    table = route_get[0]["table"].is_string() ? route_get[0]["table"].get<std::string>() : route_get[0]["table"].dump();
  ZCB_ASSIGN_OR_RETURN(nlohmann::json matching,
                       CommandJson({"ip", "-j", "route", "show", "table", table, "match", destination}));
  return SingleRouteDeviceFrom(destination, route_get, matching);
}

Result<std::unique_ptr<InterfaceConfig>> InterfaceConfig::Apply(const std::string& device,
                                                                const InterfaceRequest& request) {
  if (IsLoopbackDevice(device)) {
    return Errorf(
        "refusing to configure {}: it is the loopback device, which the loopback path measures (--path loopback); "
        "configure_interface sets the interface that reaches another host",
        device);
  }
  SavedInterface saved;
  saved.device = device;
  saved.ifindex = static_cast<int>(::if_nametoindex(device.c_str()));
  if (saved.ifindex == 0) return SysError(fmt::format("interface {}", device));
  saved.netns_inode = CurrentNetnsInode();
  ZCB_ASSIGN_OR_RETURN(nlohmann::json link, ReadLink(-1, device));
  const int mtu_now = link.value("mtu", 0);
  if (request.profile.mtu != 0 && request.profile.mtu != mtu_now) saved.mtu = mtu_now;
  if (!request.profile.wanted.empty()) {
    ZCB_ASSIGN_OR_RETURN(saved.offloads, ReadSwitches(device));
  }
  if (request.shaper) {
    ZCB_ASSIGN_OR_RETURN(const std::string handle, RootQdiscHandle(device));
    if (!handle.empty() && handle != "0:") {
      return Errorf(
          "refusing to install a shaper on {}: its root qdisc (handle {}) was configured by hand, and removing the "
          "shaper afterwards would not give it back",
          device, handle);
    }
    saved.remove_root_qdisc = true;
  }
  std::unique_ptr<InterfaceConfig> config(new InterfaceConfig(std::move(saved)));
  const SavedInterface& s = config->saved_;
  // Saved before anything changes: a kill -9 from here on leaves what cleanup needs.
  ZCB_ASSIGN_OR_RETURN(config->state_file_, NewOwnerStateFile(kInterfaceStateSuffix));
  {
    std::ofstream state(config->state_file_);
    state << s.ToJson().dump() << "\n";
    if (!state.flush()) {
      const std::string path = config->state_file_;
      config->state_file_.clear();
      return Errorf("write {} (the settings of {} to put back after a crash)", path, device);
    }
  }
  std::vector<std::vector<std::string>> restore = s.RestoreCommands();
  for (auto& argv : restore) {
    ZCB_ASSIGN_OR_RETURN(argv[0], ResolveProgram(argv[0]));
  }
  config->live_slot_ = RegisterLiveCommands(restore, config->state_file_);
  if (config->live_slot_ < 0) {
    return Errorf(
        "refusing to change {}: its restore could not be entered in the emergency table (full, or the commands too "
        "long), so a Ctrl-C could not put it back",
        device);
  }
  if (s.mtu) {
    auto set = RunCommand({"ip", "link", "set", "dev", device, "mtu", std::to_string(request.profile.mtu)});
    if (!set.ok()) return std::move(set).error().Context(fmt::format("path option mtu={}", request.profile.mtu));
  }
  ZCB_RETURN_IF_ERROR(ApplyOffloads(-1, device, request.profile));
  if (request.shaper) ZCB_RETURN_IF_ERROR(InstallShaper(-1, device, *request.shaper));
  return config;
}

Status InterfaceConfig::Restore() {
  if (restored_) return OkStatus();
  restored_ = true;
  Status restored = RestoreSaved(saved_);
  if (live_slot_ >= 0) ReleaseLiveSlot(live_slot_);
  live_slot_ = -1;
  // A failed restore keeps the state file: zcbench cleanup tries again and says why.
  if (restored.ok() && !state_file_.empty()) ::unlink(state_file_.c_str());
  return restored;
}

InterfaceConfig::~InterfaceConfig() {
  if (Status s = Restore(); !s.ok()) fmt::print(stderr, "zcbench: {}\n", s.error().ToString());
}

Result<InterfaceStateFile> ReadInterfaceStateFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  if (!in || !(text << in.rdbuf())) return SysError(fmt::format("read {}", path));
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded()) return Errorf("{}: not JSON", path);
  auto saved = SavedInterface::FromJson(json);
  if (!saved.ok()) return std::move(saved).error().Context(path);
  return InterfaceStateFile{path, std::move(*saved)};
}

Status RestoreInterfaceStateFile(const InterfaceStateFile& state) {
  const SavedInterface& saved = state.saved;
  if (const ino_t here = CurrentNetnsInode(); here != saved.netns_inode) {
    return Errorf(
        "interface {} was changed in another network namespace (inode {}; this is {}): run zcbench cleanup there",
        saved.device, saved.netns_inode, here);
  }
  // The device of that name now is another one (or none): the changed one went away,
  // and its settings with it.
  if (static_cast<int>(::if_nametoindex(saved.device.c_str())) == saved.ifindex) {
    ZCB_RETURN_IF_ERROR(RestoreSaved(saved));
  }
  if (::unlink(state.path.c_str()) != 0) return SysError(fmt::format("remove {}", state.path));
  return OkStatus();
}

}  // namespace zcb
