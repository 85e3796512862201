#include "harness/trial/trial_resolve.h"

#include <unistd.h>

#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/network_path.h"
#include "harness/peers/peer_registry.h"
#include "stack/socket_options.h"
#include "stack/udp_limits.h"
#include "workloads/payload_source.h"
#include "workloads/registry.h"

namespace zcb {

std::string_view ToString(StreamCpus placement) { return placement == StreamCpus::kSame ? "same" : "spread"; }

std::optional<StreamCpus> ParseStreamCpus(std::string_view text) {
  for (StreamCpus placement : {StreamCpus::kSpread, StreamCpus::kSame}) {
    if (ToString(placement) == text) return placement;
  }
  return std::nullopt;
}

void ApplyDefaultPinning(TrialSpec& spec) {
  if (std::thread::hardware_concurrency() >= 2) {
    if (!spec.sender_cpu) spec.sender_cpu = 0;
    if (!spec.receiver_cpu) spec.receiver_cpu = 1;
  }
}

std::vector<Incompatibility> CheckReceivingEnd(const TrialSpec& spec) {
  using Kind = Incompatibility::Kind;
  std::vector<Incompatibility> gaps;
  const std::string protocol(ToString(spec.protocol));
  if (spec.protocol == Protocol::kUdp && spec.message_size > kMaxUdpPayloadIpv4) {
    // A size sweep shared with TCP (64K, 1M) has sizes no UDP send can carry. One
    // datagram per message, or one UDP_SEGMENT buffer per call: both are IPv4 datagrams.
    gaps.push_back(
        {Kind::kRequest, fmt::format("protocol=udp message_size={}", spec.message_size),
         fmt::format("{} bytes: a UDP send carries at most {} bytes (65535 - 20 IPv4 - 8 UDP header bytes; one "
                     "datagram, or one UDP_SEGMENT buffer per call; the kernel refuses more with EMSGSIZE)",
                     spec.message_size, kMaxUdpPayloadIpv4),
         fmt::format("use --size {} or less", kMaxUdpPayloadIpv4)});
  }
  if (spec.protocol == Protocol::kUdp && spec.receiver == ReceiverMode::kZeroCopy) {
    gaps.push_back({Kind::kRequest, "protocol=udp receiver=zerocopy", "TCP_ZEROCOPY_RECEIVE has no UDP form",
                    "use --receiver verify, read or discard"});
  }
  if (spec.gro && spec.protocol != Protocol::kUdp) {
    gaps.push_back({Kind::kRequest, fmt::format("protocol={} udp_gro=true", protocol), "UDP_GRO applies to UDP only",
                    "give --gro with --protocol udp only"});
  }
  if (spec.rcvlowat && spec.protocol != Protocol::kTcp) {
    gaps.push_back({Kind::kRequest, fmt::format("protocol={} rcvlowat={}", protocol, *spec.rcvlowat),
                    "SO_RCVLOWAT is a setting of the TCP receiver", "give --rcvlowat with --protocol tcp only"});
  }
  if (spec.receiver_stall_after && (spec.protocol != Protocol::kTcp || spec.receiver == ReceiverMode::kZeroCopy)) {
    gaps.push_back({Kind::kRequest,
                    fmt::format("protocol={} receiver={} receiver_stall_after={}", protocol, ToString(spec.receiver),
                                *spec.receiver_stall_after),
                    "receiver_stall_after is a fault of the copying TCP receiver (verify, read or discard)",
                    "give receiver_stall_after with protocol tcp and receiver verify, read or discard only"});
  }
  return gaps;
}

std::vector<Incompatibility> CheckCompatibility(const StrategyInfo& info, const PathInfo& path, const TrialSpec& spec,
                                                SourceKind source, const WorkloadInfo* workload) {
  using Kind = Incompatibility::Kind;
  std::vector<Incompatibility> gaps;
  const std::string protocol(ToString(spec.protocol));
  const std::string path_name = spec.path_name.empty() ? spec.path : spec.path_name;
  if (!info.Speaks(spec.protocol)) {
    std::vector<std::string> spoken;
    for (Protocol p : AllProtocols()) {
      if (info.Speaks(p)) spoken.emplace_back(ToString(p));
    }
    gaps.push_back({Kind::kRequest, fmt::format("protocol={} strategy={}", protocol, info.name),
                    fmt::format("{} does not speak {} (it speaks {})", info.name, protocol, fmt::join(spoken, ", ")),
                    fmt::format("use --protocol {}", spoken.empty() ? "tcp" : spoken.front())});
  }
  if (!info.CanSend(source)) {
    std::vector<std::string> can;
    for (SourceKind s : info.caps.sources) can.emplace_back(ToString(s));
    gaps.push_back({Kind::kRequest, fmt::format("strategy={} source={}", info.name, ToString(source)),
                    fmt::format("strategy {} cannot send from a {} source; it sends from: {}", info.name,
                                ToString(source), fmt::join(can, ", ")),
                    fmt::format("use --source {}", can.empty() ? "memory" : can.front())});
  }
  if (spec.cold_cache && source != SourceKind::kFile) {
    gaps.push_back({Kind::kRequest, fmt::format("source={} cache=cold", ToString(source)),
                    "a cold page cache applies to the file source only", ""});
  }
  if (spec.receiver_stall_after && (path.caps.remote_receiver || !path.caps.has_receiver)) {
    gaps.push_back({Kind::kRequest,
                    fmt::format("path={} receiver_stall_after={}", path_name, *spec.receiver_stall_after),
                    "receiver_stall_after is a fault of a receiver in this process; this path's receiver is not",
                    "give receiver_stall_after on a path whose receiver runs here (loopback, veth, ...)"});
  }
  if (info.caps.needs_link_layer && !path.caps.has_link_layer) {
    gaps.push_back({Kind::kPath, fmt::format("strategy={} path={}", info.name, path_name),
                    fmt::format("{} writes Ethernet frames and needs a path with a link layer (an Ethernet device); "
                                "path {} has none",
                                info.name, path_name),
                    "use a path such as veth"});
  }
  if (spec.protocol == Protocol::kTcp && !path.caps.has_receiver) {
    gaps.push_back({Kind::kPath, fmt::format("protocol=tcp path={}", path_name),
                    fmt::format("path {} has no receiver: it drops every packet before delivery, so no TCP handshake "
                                "can complete",
                                path_name),
                    "use --protocol udp over it"});
  }
  // What the workload runs over (its needs).
  if (workload != nullptr && !workload->needs.protocols.Has(spec.protocol)) {
    std::vector<std::string> over;
    for (Protocol p : AllProtocols()) {
      if (workload->needs.protocols.Has(p)) over.emplace_back(ToString(p));
    }
    gaps.push_back({Kind::kRequest, fmt::format("protocol={} workload={}", protocol, spec.workload),
                    fmt::format("workload {} runs over {} only", spec.workload, fmt::join(over, ", ")),
                    fmt::format("use --protocol {}", over.empty() ? "tcp" : over.front())});
  }
  if (workload != nullptr && workload->needs.responses && !info.caps.sends_responses) {
    gaps.push_back({Kind::kRequest, fmt::format("strategy={} workload={}", info.name, spec.workload),
                    fmt::format("workload {} serves each request with the strategy's SendResponse (a header, then a "
                                "range of an open file), which {} does not have (capability sends_responses)",
                                spec.workload, info.name),
                    "use a strategy that sends responses (zcbench help " + spec.workload + " lists them)"});
  }
  const std::vector<Incompatibility> receiving = CheckReceivingEnd(spec);
  gaps.insert(gaps.end(), receiving.begin(), receiving.end());
  return gaps;
}

Result<ResolvedTrial> ResolveTrial(const TrialSpec& spec) {
  ResolvedTrial trial;
  trial.spec = spec;
  // A peer stands in a point's strategy coordinate under its own name.
  if (const PeerTool* peer = FindPeer(spec.strategy)) {
    trial.peer = peer;
    trial.strategy = &PeerStrategyInfo(*peer);
  } else {
    ZCB_ASSIGN_OR_RETURN(trial.strategy, FindStrategy(spec.strategy));
  }
  const StrategyInfo& info = *trial.strategy;
  trial.source = spec.source.value_or(info.DefaultSource());
  if (spec.message_size == 0) return Usagef("message size must be at least 1 byte (--size)");
  if (spec.duration_s.has_value() == spec.bytes.has_value()) {
    return Usagef("give exactly one of --duration (seconds) or --bytes (a byte count)");
  }
  if (spec.duration_s && !(*spec.duration_s > 0)) return Usagef("--duration must be a positive number of seconds");
  if (spec.bytes && *spec.bytes == 0) return Usagef("--bytes must be at least 1");
  if (spec.pattern_period == 0 || spec.pattern_period % 4096 != 0) {
    return Usagef("the pattern period must be a positive multiple of 4096 bytes");
  }
  if (spec.working_set && *spec.working_set < 4096) {
    return Usagef(
        "--working-set {}: at least 4K (e.g. 256K for a cache-resident buffer; default {} MiB, {} times the last-level "
        "cache)",
        *spec.working_set, DefaultWorkingSet() >> 20, kWorkingSetPerLlc);
  }
  if (!(spec.drain_s > 0)) return Usagef("--drain must be a positive number of seconds");
  if (spec.streams < 1 || spec.streams > kMaxStreams) {
    return Usagef("--streams {}: the number of parallel streams must be 1 to {}", spec.streams, kMaxStreams);
  }
  if (spec.streams > 1 && spec.optmem_max) {
    // Each sender thread sets the sysctl in its namespace and puts it back when it ends:
    // the first stream to end would put it back under the others.
    return Usagef(
        "--optmem-max with --streams {}: net.core.optmem_max is set and put back by one sender thread; run one "
        "stream, or set the sysctl yourself (the record reads it back, params.optmem_max)",
        spec.streams);
  }
  ZCB_RETURN_IF_ERROR(ValidatePathOptions(spec.path, spec.path_options));
  ZCB_ASSIGN_OR_RETURN(const PathInfo* path, FindPath(spec.path));
  ZCB_ASSIGN_OR_RETURN(trial.workload, FindWorkload(spec.workload));
  // A path that cannot serve the trial is not a usage error: the trial records it as
  // unsupported there.
  for (const Incompatibility& gap : CheckCompatibility(info, *path, spec, trial.source, trial.workload)) {
    if (gap.kind == Incompatibility::Kind::kRequest) return Usagef("{}", gap.Message());
  }
  if (spec.cold_cache && spec.file_dir.empty()) {
    return Usagef(
        "a cold page cache needs the payload file on disk (tmpfs pages cannot be dropped): give --file-dir DIR");
  }
  ZCB_RETURN_IF_ERROR(ValidateHostConstraints(spec.constraints));
  if (spec.optmem_max && ::geteuid() != 0) {
    return Usagef(
        "--optmem-max writes net.core.optmem_max, which needs root: run as root, or leave it out (the record "
        "has the value in effect, params.optmem_max)");
  }
  for (const auto& [key, value] : spec.socket_options) {
    ZCB_RETURN_IF_ERROR(ParseSocketOption(key + "=" + value));
    if (!FindSocketOption(key)->protocols.Has(spec.protocol)) {
      return Usagef("--socket-option {}: a TCP socket option; leave it out for --protocol {}", key,
                    ToString(spec.protocol));
    }
  }
  ZCB_ASSIGN_OR_RETURN(trial.options, Options::Parse(info.options, spec.options, "strategy " + info.name));
  if (info.validate) ZCB_RETURN_IF_ERROR(info.validate(trial.options, spec.protocol, spec.message_size));
  ZCB_ASSIGN_OR_RETURN(trial.workload_options, trial.workload->ParseOptions(spec.workload_options));
  // Made once, and dropped, for what its options' types cannot say (a distribution with no
  // mass): a usage error before anything runs. Creating a workload makes nothing outside it.
  if (auto made = trial.workload->create(trial.workload_options); !made.ok()) return std::move(made).error();
  return trial;
}

}  // namespace zcb
