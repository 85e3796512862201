#include "drivers/offload_profile.h"

#include <fmt/format.h>

namespace zcb {

const std::vector<OffloadSwitch>& OffloadSwitches() {
  static const std::vector<OffloadSwitch> all = {
      {"sg", "sg", "tx-scatter-gather",
       "scatter-gather on the sender's device: on, off or keep (the driver's setting)"},
      {"tx_checksum", "tx", "tx-checksumming", "TX checksum offload on the sender's device: on, off or keep"},
      {"tso", "tso", "tx-tcp-segmentation", "TCP segmentation offload on the sender's device: on, off or keep"},
      {"gso", "gso", "generic-segmentation-offload",
       "generic segmentation offload on the sender's device: on, off or keep"},
  };
  return all;
}

std::vector<OptionSpec> DevicePathOptions() {
  std::vector<OptionSpec> options = {
      {"mtu", OptionType::kInt, "1500", "MTU of every device of the path, in bytes (68-65535)", {}},
  };
  for (const auto& s : OffloadSwitches())
    options.push_back({s.option, OptionType::kChoice, "keep", s.help, {"on", "off", "keep"}});
  return options;
}

OffloadProfile OffloadProfile::FromOptions(const Options& options) {
  OffloadProfile profile;
  profile.mtu = static_cast<int>(options.GetInt("mtu"));
  for (const auto& s : OffloadSwitches()) {
    const std::string& v = options.GetString(s.option);
    if (v != "keep") profile.wanted[s.option] = v == "on";
  }
  return profile;
}

nlohmann::json OffloadProfile::ToJson() const {
  nlohmann::json wanted_json = nlohmann::json::object();
  for (const auto& s : OffloadSwitches()) {
    auto it = wanted.find(s.option);
    wanted_json[s.option] = it == wanted.end() ? "keep" : (it->second ? "on" : "off");
  }
  return {{"mtu", mtu}, {"sender_offloads_requested", wanted_json}};
}

Result<std::map<std::string, bool>> ReadFeatures(int netns_fd, const std::string& dev) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput out, RunCommand({"ethtool", "-k", dev}, netns_fd));
  std::map<std::string, bool> features;
  size_t start = 0;
  while (start < out.out.size()) {
    size_t end = out.out.find('\n', start);
    if (end == std::string::npos) end = out.out.size();
    std::string line = out.out.substr(start, end - start);
    start = end + 1;
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    line = line.substr(first);
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;  // the "Features for DEV:" header
    const std::string value = line.substr(colon + 2);
    if (value.rfind("on", 0) == 0) features[line.substr(0, colon)] = true;
    else if (value.rfind("off", 0) == 0) features[line.substr(0, colon)] = false;
  }
  if (features.empty()) return Errorf("'ethtool -k {}' listed no features", dev);
  return features;
}

nlohmann::json OffloadStateJson(const std::map<std::string, bool>& features) {
  nlohmann::json state = nlohmann::json::object();
  auto put = [&](const std::string& key, const std::string& feature) {
    auto it = features.find(feature);
    state[key] = it == features.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second ? "on" : "off");
  };
  for (const auto& s : OffloadSwitches()) put(s.option, s.feature);
  put("gro", "generic-receive-offload");
  put("rx_checksum", "rx-checksumming");
  return state;
}

Status ApplyOffloads(int netns_fd, const std::string& dev, const OffloadProfile& profile) {
  if (profile.wanted.empty()) return OkStatus();
  std::vector<std::string> argv = {"ethtool", "-K", dev};
  for (const auto& s : OffloadSwitches()) {
    auto it = profile.wanted.find(s.option);
    if (it == profile.wanted.end()) continue;
    argv.push_back(s.keyword);
    argv.push_back(it->second ? "on" : "off");
  }
  // ethtool exits non-zero when a feature is fixed; the read-back below says which.
  ZCB_ASSIGN_OR_RETURN(CommandOutput applied, RunCommandStatus(argv, netns_fd));
  ZCB_ASSIGN_OR_RETURN(auto features, ReadFeatures(netns_fd, dev));
  for (const auto& s : OffloadSwitches()) {
    auto it = profile.wanted.find(s.option);
    if (it == profile.wanted.end()) continue;
    auto got = features.find(s.feature);
    if (got == features.end())
      return Errorf("offload {}: '{}' is not a feature of {} (ethtool -k)", s.option, s.feature, dev);
    if (got->second != it->second) {
      return Errorf(
          "offload {}={} could not be applied to {}: the device reports it {} ({}); features depend on each "
          "other (TSO and GSO need scatter-gather), so set them together",
          s.option, it->second ? "on" : "off", dev, got->second ? "on" : "off",
          applied.err.empty() ? "ethtool accepted the request" : applied.err.substr(0, applied.err.find('\n')));
    }
  }
  return OkStatus();
}

}  // namespace zcb
