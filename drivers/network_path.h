#pragma once

// A network path under test: where the receiver listens and how each side's thread
// gets into its network context (nothing for loopback; a namespace for device paths).
// The trial runner talks to paths only through this interface and their capabilities.

#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/options.h"
#include "stack/result.h"

namespace zcb {

struct PathCapabilities {
  bool needs_root = false;           // creates namespaces, links or qdiscs
  bool has_link_layer = false;       // an Ethernet device between sender and receiver
  bool local_delivery = true;        // both ends on this kernel: zero-copy sends are copied on delivery
};

class NetworkPath {
 public:
  virtual ~NetworkPath() = default;

  virtual const std::string& name() const = 0;
  virtual PathCapabilities capabilities() const = 0;

  // Called on the sender's (receiver's) thread before it opens its sockets.
  virtual Status EnterSenderSide() { return OkStatus(); }
  virtual Status EnterReceiverSide() { return OkStatus(); }

  // The address the receiver binds (port 0: any free port) and the sender connects to.
  virtual sockaddr_storage ReceiverAddress() const = 0;

  // For the manifest: interfaces, drivers, MTU, offloads, qdiscs.
  virtual nlohmann::json Describe() const = 0;
};

struct PathInfo {
  std::string name;
  std::string summary;
  PathCapabilities caps;
  std::vector<OptionSpec> options;
  std::function<Result<std::unique_ptr<NetworkPath>>(const Options&)> create;
};

const std::vector<PathInfo>& AllPaths();
// The path called `name`, or an error listing the valid ones.
Result<const PathInfo*> FindPath(const std::string& name);
// Validates `options` and sets the path up.
Result<std::unique_ptr<NetworkPath>> CreatePath(const std::string& name, const std::map<std::string, std::string>& options);

socklen_t SockaddrLength(const sockaddr_storage& addr);
std::string FormatSockaddr(const sockaddr_storage& addr);

}  // namespace zcb
