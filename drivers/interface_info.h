#pragma once

// What the record says about one device of a path, read from the kernel after set-up:
// driver, MTU, link speed where the driver reports one, MAC and addresses, the offloads
// in effect, and the qdiscs with their parameters and counters.

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "drivers/net_namespace.h"
#include "stack/result.h"

namespace zcb {

// Each function runs its commands in the network namespace open at `netns_fd` (-1: the
// calling thread's own, whose name the record then gives as null).

// `role` says where the device sits ("sender", "router-in", ...).
Result<nlohmann::json> DescribeInterface(int netns_fd, const std::string& ns_name, const std::string& dev,
                                         const std::string& role);
inline Result<nlohmann::json> DescribeInterface(const NetNamespace& ns, const std::string& dev,
                                                const std::string& role) {
  return DescribeInterface(ns.fd(), ns.name(), dev, role);
}

// The device's qdiscs (tc -s -j qdisc show): kind, handle, options, and counters.
Result<nlohmann::json> ReadQdiscs(int netns_fd, const std::string& dev);
inline Result<nlohmann::json> ReadQdiscs(const NetNamespace& ns, const std::string& dev) {
  return ReadQdiscs(ns.fd(), dev);
}

// The device's basic link facts from `ip -j -d addr show`: ifindex, MAC, MTU, addresses.
Result<nlohmann::json> ReadLink(int netns_fd, const std::string& dev);

// The device's packet counters as `ip -s -j link` gives them (stats64: rx and tx bytes,
// packets, errors, dropped).
Result<nlohmann::json> ReadLinkCounters(int netns_fd, const std::string& dev);

// "aa:bb:cc:dd:ee:ff" into six bytes; false when it is no MAC address.
bool ParseMac(const std::string& text, std::array<uint8_t, 6>& mac);

// The device the calling thread's namespace routes `destination` through (ip route get).
Result<std::string> RouteDevice(const std::string& destination);

}  // namespace zcb
