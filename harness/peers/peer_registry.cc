#include "harness/peers/peer_registry.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zcb {

const std::vector<std::unique_ptr<PeerTool>>& Peers() {
  static const std::vector<std::unique_ptr<PeerTool>> peers = [] {
    std::vector<std::unique_ptr<PeerTool>> v;
    v.push_back(MakeIperf3Peer(/*zerocopy=*/false));
    v.push_back(MakeIperf3Peer(/*zerocopy=*/true));
    v.push_back(MakeSockperfPeer(/*pingpong=*/false));
    v.push_back(MakeSockperfPeer(/*pingpong=*/true));
    v.push_back(MakeNginxWrkPeer(/*sendfile=*/true));
    v.push_back(MakeNginxWrkPeer(/*sendfile=*/false));
    return v;
  }();
  return peers;
}

const PeerTool* FindPeer(std::string_view name) {
  for (const auto& peer : Peers()) {
    if (peer->name() == name) return peer.get();
  }
  return nullptr;
}

std::string PeerNames() {
  std::vector<std::string> names;
  for (const auto& peer : Peers()) names.push_back(peer->name());
  return fmt::format("{}", fmt::join(names, ", "));
}

Result<std::string> FindPeerProgram(const PeerTool& peer, const std::string& program, const std::string& peer_dir) {
  if (!peer_dir.empty()) {
    const std::string candidate = peer_dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  const char* path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "";
  for (size_t start = 0; start <= dirs.size();) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    if (colon > start) {
      std::string candidate = dirs.substr(start, colon - start) + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = colon + 1;
  }
  const std::string in_dir = peer_dir.empty() ? "" : fmt::format("in --peer-dir {} nor ", peer_dir);
  return Errorf("peer {}: the program '{}' was not found {}on PATH ({}); install the Debian package {}", peer.name(),
                program, in_dir, dirs.empty() ? "PATH is not set" : dirs, peer.package());
}

Availability PeerAvailability(const PeerTool& peer, const std::string& peer_dir) {
  for (const std::string& program : peer.programs()) {
    if (auto found = FindPeerProgram(peer, program, peer_dir); !found.ok()) return {false, found.error().what()};
  }
  return {};
}

const StrategyInfo& PeerStrategyInfo(const PeerTool& peer) {
  static std::mutex mutex;
  static std::map<std::string, StrategyInfo> infos;
  std::lock_guard lock(mutex);
  auto [it, inserted] = infos.try_emplace(peer.name());
  if (inserted) {
    StrategyInfo& info = it->second;
    const PeerCapabilities caps = peer.capabilities();
    info.name = peer.name();
    info.summary = peer.summary() + " (a peer: its own sender and receiver, not verified by zcbench)";
    info.caps.protocols = caps.protocols;
    info.caps.sources = {caps.source};
    info.caps.sends_responses = caps.serves_responses;
    info.probe = [&peer]() -> Availability { return PeerAvailability(peer); };
    info.create = [name = peer.name()](const SendContext&) -> Result<std::unique_ptr<SendStrategy>> {
      return Errorf("{} is a peer: its trial runs the peer's own programs, not a zcbench sender", name);
    };
  }
  return it->second;
}

std::vector<PeerGap> PeerGaps(const PeerTool& peer, Protocol protocol, const std::string& workload,
                              uint64_t message_size, const PathInfo& path, const std::string& path_name,
                              const std::map<std::string, std::string>& workload_options) {
  std::vector<PeerGap> gaps;
  const PeerCapabilities caps = peer.capabilities();
  const std::string name = peer.name();
  if (!caps.protocols.Has(protocol)) {
    gaps.push_back({fmt::format("protocol={} peer={}", ToString(protocol), name),
                    fmt::format("peer {} does not run over {}", name, ToString(protocol))});
  }
  if (std::find(caps.workloads.begin(), caps.workloads.end(), workload) == caps.workloads.end()) {
    gaps.push_back({fmt::format("workload={} peer={}", workload, name),
                    fmt::format("peer {} measures {} only", name, fmt::join(caps.workloads, ", "))});
  }
  if (caps.max_message_size != 0 && message_size > caps.max_message_size) {
    gaps.push_back({fmt::format("message_size={} peer={}", message_size, name),
                    fmt::format("peer {} sends messages of at most {} bytes", name, caps.max_message_size)});
  }
  for (const auto& [option, values] : caps.workload_option_values) {
    const auto given = workload_options.find(option);
    if (given == workload_options.end()) continue;
    if (std::find(values.begin(), values.end(), given->second) == values.end()) {
      gaps.push_back({fmt::format("{}={} peer={}", option, given->second, name),
                      fmt::format("peer {} runs {} {} only", name, option, fmt::join(values, ", "))});
    }
  }
  // A peer is a server and a client talking over IP: it needs a path that delivers to a
  // receiver on this host.
  if (!path.caps.has_receiver) {
    gaps.push_back({fmt::format("path={} peer={}", path_name, name),
                    fmt::format("path {} has no receiver (a sink): a peer's server cannot run behind it", path_name)});
  }
  if (path.caps.remote_receiver) {
    gaps.push_back(
        {fmt::format("path={} peer={}", path_name, name),
         fmt::format("path {} receives on another host, where zcbench cannot start a peer's server", path_name)});
  }
  return gaps;
}

}  // namespace zcb
