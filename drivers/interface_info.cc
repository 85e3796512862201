#include "drivers/interface_info.h"

#include <cstdio>

#include <fmt/format.h>

#include "drivers/offload_profile.h"

namespace zcb {
namespace {

Result<nlohmann::json> ParseJson(const CommandOutput& out, const std::string& what) {
  try {
    return nlohmann::json::parse(out.out);
  } catch (const nlohmann::json::exception& e) {
    return Errorf("{}: unparseable JSON output: {}", what, e.what());
  }
}

// "key: value" lines of ethtool output, keys trimmed.
std::string FindField(const std::string& text, const std::string& key) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    line = line.substr(first);
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      const size_t v = value.find_first_not_of(' ');
      return v == std::string::npos ? "" : value.substr(v);
    }
  }
  return "";
}

}  // namespace

Result<nlohmann::json> ReadLink(int netns_fd, const std::string& dev) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput out, RunCommand({"ip", "-j", "-d", "addr", "show", "dev", dev}, netns_fd));
  ZCB_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(out, "ip -j addr show dev " + dev));
  if (!parsed.is_array() || parsed.empty()) return Errorf("ip addr show dev {}: no such device", dev);
  const nlohmann::json& link = parsed[0];
  nlohmann::json addresses = nlohmann::json::array();
  for (const auto& a : link.value("addr_info", nlohmann::json::array())) {
    if (a.value("family", "") != "inet") continue;
    addresses.push_back(fmt::format("{}/{}", a.value("local", ""), a.value("prefixlen", 0)));
  }
  return nlohmann::json{
      {"ifindex", link.value("ifindex", 0)},
      {"mac", link.value("address", "")},
      {"mtu", link.value("mtu", 0)},
      {"operstate", link.value("operstate", "")},
      {"kind", link.contains("linkinfo") ? link["linkinfo"].value("info_kind", "") : ""},
      {"addresses", addresses},
      {"txqlen", link.value("txqlen", 0)},
      {"gso_max_size", link.value("gso_max_size", 0)},
  };
}

Result<nlohmann::json> ReadLinkCounters(int netns_fd, const std::string& dev) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput out, RunCommand({"ip", "-s", "-j", "link", "show", "dev", dev}, netns_fd));
  ZCB_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(out, "ip -s -j link show dev " + dev));
  if (!parsed.is_array() || parsed.empty() || !parsed[0].contains("stats64")) {
    return Errorf("ip -s link show dev {}: no counters", dev);
  }
  return parsed[0]["stats64"];
}

bool ParseMac(const std::string& text, std::array<uint8_t, 6>& mac) {
  unsigned v[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return true;
}

Result<nlohmann::json> ReadQdiscs(int netns_fd, const std::string& dev) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput out, RunCommand({"tc", "-s", "-j", "qdisc", "show", "dev", dev}, netns_fd));
  ZCB_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(out, "tc -j qdisc show dev " + dev));
  nlohmann::json qdiscs = nlohmann::json::array();
  for (const auto& q : parsed) {
    nlohmann::json entry = {
        {"kind", q.value("kind", "")},
        {"handle", q.value("handle", "")},
        {"parent", q.contains("root") ? "root" : q.value("parent", "")},
        {"options", q.value("options", nlohmann::json::object())},
    };
    for (const char* counter : {"bytes", "packets", "drops", "overlimits", "requeues", "backlog", "qlen"}) {
      if (q.contains(counter)) entry[counter] = q[counter];
    }
    qdiscs.push_back(entry);
  }
  return qdiscs;
}

Result<std::string> RouteDevice(const std::string& destination) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput out, RunCommand({"ip", "-j", "route", "get", destination}));
  ZCB_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(out, "ip -j route get " + destination));
  if (!parsed.is_array() || parsed.empty() || !parsed[0].contains("dev")) return Errorf("no route to {}", destination);
  return parsed[0]["dev"].get<std::string>();
}

Result<nlohmann::json> DescribeInterface(int netns_fd, const std::string& ns_name, const std::string& dev,
                                         const std::string& role) {
  ZCB_ASSIGN_OR_RETURN(nlohmann::json info, ReadLink(netns_fd, dev));
  info["name"] = dev;
  info["namespace"] = ns_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(ns_name);
  info["role"] = role;
  // Some devices (lo) have no driver information: null, not a failure.
  auto driver = RunCommandStatus({"ethtool", "-i", dev}, netns_fd);
  const std::string driver_name = driver.ok() && driver->exit_code == 0 ? FindField(driver->out, "driver") : "";
  info["driver"] = driver_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(driver_name);
  // Link speed and duplex where the driver reports them (veth says 10000Mb/s, a figure
  // with no meaning for a software device: the record keeps it as reported).
  auto settings = RunCommandStatus({"ethtool", dev}, netns_fd);
  if (settings.ok()) {
    const std::string speed = FindField(settings->out, "Speed");
    const std::string duplex = FindField(settings->out, "Duplex");
    const size_t mb = speed.find("Mb/s");
    info["speed_mbps"] =
        mb != std::string::npos ? nlohmann::json(std::strtoll(speed.c_str(), nullptr, 10)) : nlohmann::json(nullptr);
    info["duplex"] =
        duplex.empty() || duplex.rfind("Unknown", 0) == 0 ? nlohmann::json(nullptr) : nlohmann::json(duplex);
  } else {
    info["speed_mbps"] = nullptr;
    info["duplex"] = nullptr;
  }
  ZCB_ASSIGN_OR_RETURN(auto features, ReadFeatures(netns_fd, dev));
  info["offloads"] = OffloadStateJson(features);
  ZCB_ASSIGN_OR_RETURN(info["qdiscs"], ReadQdiscs(netns_fd, dev));
  return info;
}

}  // namespace zcb
