#pragma once

// The offload profile of a device path: MTU and the sender device's scatter-gather,
// TX checksum, TSO and GSO switches (ethtool -K), set before the trial and read back
// after being set. True zero-copy transmission needs scatter-gather and checksum
// offload; an experiment turns them off to show what changes.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/net_namespace.h"
#include "stack/options.h"
#include "stack/result.h"

namespace zcb {

// One switch: the path option, the `ethtool -K` keyword and the feature read back.
struct OffloadSwitch {
  std::string option;   // "sg"
  std::string keyword;  // "sg"
  std::string feature;  // the line of `ethtool -k` read back ("tx-tcp-segmentation": the
                        // summary line "tcp-segmentation-offload" stays on while any TCP
                        // segmentation sub-feature is, e.g. AccECN)
  std::string help;
};
const std::vector<OffloadSwitch>& OffloadSwitches();

// The options every device path has: mtu, sg, tx_checksum, tso, gso.
std::vector<OptionSpec> DevicePathOptions();

struct OffloadProfile {
  int mtu = 1500;
  std::map<std::string, bool> wanted;  // option -> on/off; absent: left as the driver set it

  static OffloadProfile FromOptions(const Options& options);
  nlohmann::json ToJson() const;
};

// Every feature `ethtool -k DEV` lists, by name, on or off.
// (netns_fd -1: the calling thread's namespace.)
Result<std::map<std::string, bool>> ReadFeatures(int netns_fd, const std::string& dev);

// The features a record shows: the four switches plus the receive side's GRO and checksum.
nlohmann::json OffloadStateJson(const std::map<std::string, bool>& features);

// Applies `profile.wanted` to `dev` with one `ethtool -K`, reads the features back and
// fails when an explicitly requested state did not stick (the kernel keeps features
// consistent: without scatter-gather it also turns TSO and GSO off). (netns_fd -1: the
// calling thread's namespace.)
Status ApplyOffloads(int netns_fd, const std::string& dev, const OffloadProfile& profile);
inline Status ApplyOffloads(const NetNamespace& ns, const std::string& dev, const OffloadProfile& profile) {
  return ApplyOffloads(ns.fd(), dev, profile);
}

}  // namespace zcb
