#pragma once

// The peers zcbench can run beside its strategies (peer_tool.h), where their programs
// are, and what the matrix and the plan know of them: a peer stands in a point's strategy
// coordinate under its own name, described by a StrategyInfo made from its capabilities
// (so that the plan's availability check, labels and keys treat it like a strategy), and
// it is kept only where its capabilities hold (PeerGaps).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/network_path.h"
#include "harness/peers/peer_tool.h"
#include "stack/send_strategy.h"

namespace zcb {

// The peers, one per matrix entry, in a fixed order.
const std::vector<std::unique_ptr<PeerTool>>& Peers();
// The peer of that name (a point's strategy coordinate), or null: one of zcbench's strategies.
const PeerTool* FindPeer(std::string_view name);
std::string PeerNames();  // "iperf3, iperf3_zerocopy, ..."

// The peers (one file each).
std::unique_ptr<PeerTool> MakeIperf3Peer(bool zerocopy);
std::unique_ptr<PeerTool> MakeSockperfPeer(bool pingpong);
std::unique_ptr<PeerTool> MakeNginxWrkPeer(bool sendfile);

// The absolute path of `program` of `peer`: looked up in `peer_dir` first (--peer-dir;
// empty: not given), then on PATH; an error says which program was not found in which
// places, and the Debian package that has it.
Result<std::string> FindPeerProgram(const PeerTool& peer, const std::string& program, const std::string& peer_dir = "");

// Whether every program of `peer` is found (in `peer_dir`, then on PATH); if not, the
// first one missing, with the places looked in and its package.
Availability PeerAvailability(const PeerTool& peer, const std::string& peer_dir = "");

// The peer as a strategy-shaped entry: its name, summary, protocols and source, and an
// availability probe that finds its programs (a peer not installed is unsupported, with
// that reason). It cannot create a SendStrategy: a peer's trial runs the peer's programs
// (harness/trial/peer_trial.cc).
const StrategyInfo& PeerStrategyInfo(const PeerTool& peer);

// Why the peer cannot run a point (each a "combination" and a "reason", as the matrix
// lists left-out points); empty when it can.
struct PeerGap {
  std::string combination;
  std::string reason;
};
std::vector<PeerGap> PeerGaps(const PeerTool& peer, Protocol protocol, const std::string& workload,
                              uint64_t message_size, const PathInfo& path, const std::string& path_name,
                              const std::map<std::string, std::string>& workload_options = {});

}  // namespace zcb
