#pragma once

// The machinery of the device paths (veth, shaped, routed): a chain of network
// namespaces joined by veth pairs, sender in the first, receiver in the last, routers in
// between, addresses from the benchmarking range 198.18.0.0/15 (RFC 2544), an offload
// profile on the sender's device and optional shapers. Each path file configures a chain.
//
//   snd [zcb-<pid>-s] ==veth== [zcb-<pid>-r] rcv                      (2 namespaces)
//   snd [zcb-<pid>-s] ==veth== [-a] rtr [-b] ==veth== [zcb-<pid>-r] rcv  (3 namespaces)
//
// Segment i (between namespace i and i+1) is 198.18.i.0/24, .1 on the left, .2 on the
// right; end hosts route 198.18.0.0/15 through their neighbour, never a default route.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/net_namespace.h"
#include "drivers/network_path.h"
#include "drivers/offload_profile.h"
#include "drivers/shaper.h"
#include "stack/result.h"

namespace zcb {

struct ChainConfig {
  std::string path_name;
  std::string description;
  PathCapabilities caps;
  bool with_router = false;
  OffloadProfile profile;
  std::optional<ShaperSpec> sender_shaper;  // on the sender device's egress
  std::optional<ShaperSpec> router_shaper;  // on the router's egress towards the receiver
};

// A built chain, for a path that adds something to it (the sink path's drop program):
// the namespaces and devices at its two ends.
class NamespaceChain : public NetworkPath {
 public:
  virtual const NetNamespace& sender_namespace() const = 0;
  virtual const NetNamespace& receiver_namespace() const = 0;
  virtual const std::string& sender_device() const = 0;
  virtual const std::string& receiver_device() const = 0;
};

// Checks the privileges, builds the chain and describes it. On any failure everything
// built so far is removed before the error returns.
Result<std::unique_ptr<NamespaceChain>> BuildNamespaceChain(ChainConfig config);
// The same, as the path itself.
Result<std::unique_ptr<NetworkPath>> CreateNamespaceChain(ChainConfig config);

// Usage checks of the options every device path has (mtu), and of the shaping
// options when `with_shaper`.
Status ValidateDevicePathOptions(const Options& options, bool with_shaper);

// No IPv6 in `ns`: router solicitations and MLD reports would be traffic the trial did
// not send (and probes and a sink would count). Nothing to do where IPv6 is compiled out.
void DisableIpv6(const NetNamespace& ns);

// The privilege check every device path makes first.
Status RequireDevicePathPrivileges(const std::string& path_name);

}  // namespace zcb
