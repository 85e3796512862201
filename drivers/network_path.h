#pragma once

// A network path under test: where the receiver listens and how each side's thread
// gets into its network context (nothing for loopback; a namespace for device paths).
// The trial runner talks to paths only through this interface and their capabilities.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/options.h"
#include "stack/result.h"

namespace zcb {

struct PathCapabilities {
  bool needs_root = false;       // creates namespaces, links or qdiscs
  bool has_link_layer = false;   // an Ethernet device between sender and receiver
  bool local_delivery = true;    // both ends on this kernel: zero-copy sends are copied on delivery
  bool remote_receiver = false;  // the receiver runs on another host, driven through NetworkPath::remote()
  // False for a sink: nothing receives; every packet is dropped before delivery and
  // counted where it was dropped (NetworkPath::ReadSink). No TCP handshake can complete.
  bool has_receiver = true;
};

// What a sink (a path without a receiver) took since it was set up, counted where it
// dropped the packets: IPv4 UDP skbs, the datagrams they carried (GSO segments) and their
// UDP payload bytes, and any other skb apart.
struct SinkCounts {
  std::string sink_device;  // what drops: "dummy" or "veth+tc_drop"
  std::string counted_at;   // the hook that counts, e.g. "tc ingress of zcb-123-r (BPF, per-CPU map)"
  uint64_t udp_skbs = 0;
  uint64_t udp_datagrams = 0;
  uint64_t udp_payload_bytes = 0;
  uint64_t udp_fragments = 0;  // skbs that were IPv4 fragments of a larger datagram
  uint64_t other_skbs = 0;
  uint64_t other_bytes = 0;

  // The counts by their names (udp_skbs, ...), as records show them.
  nlohmann::json CountsJson() const;
};

// The sender's end of a path with a link layer: what a user-space stack writing whole
// Ethernet frames (AF_PACKET) needs to address them. Valid on the sender's thread after
// EnterSenderSide().
struct LinkLayerInfo {
  std::string sender_interface;  // in the sender's network namespace
  int sender_ifindex = 0;
  std::array<uint8_t, 6> sender_mac{};
  std::array<uint8_t, 6> next_hop_mac{};  // the receiver's device, or the router's on a routed path
  in_addr sender_ip{};
  in_addr receiver_ip{};
  int mtu = 0;
};

class RemoteReceiver;  // drivers/remote/remote_receiver.h

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

  // Set when capabilities().has_link_layer.
  virtual std::optional<LinkLayerInfo> link_layer() const { return std::nullopt; }

  // Set when capabilities().remote_receiver: the control connection to the peer.
  virtual RemoteReceiver* remote() { return nullptr; }

  // When !capabilities().has_receiver: what the sink took since the path was set up.
  virtual Result<SinkCounts> ReadSink() const;

  // After a trial: whether what the path set up is still there as it was (a namespace
  // deleted from outside is not). An error names what went; the trial fails with it.
  virtual Status CheckIntact() const { return OkStatus(); }
};

struct PathInfo {
  std::string name;
  std::string summary;
  PathCapabilities caps;
  std::vector<OptionSpec> options;
  // Checks beyond each option's type (ranges, combinations), made before anything runs.
  std::function<Status(const Options&)> validate;
  std::function<Result<std::unique_ptr<NetworkPath>>(const Options&)> create;
};

const std::vector<PathInfo>& AllPaths();
// The path called `name`, or an error listing the valid ones.
Result<const PathInfo*> FindPath(const std::string& name);
// Usage checks of `options` for the path called `name`, without setting anything up.
Status ValidatePathOptions(const std::string& name, const std::map<std::string, std::string>& options);
// Validates `options` and sets the path up.
Result<std::unique_ptr<NetworkPath>> CreatePath(const std::string& name,
                                                const std::map<std::string, std::string>& options);

socklen_t SockaddrLength(const sockaddr_storage& addr);
std::string FormatSockaddr(const sockaddr_storage& addr);

}  // namespace zcb
