#include "harness/trial_resolve.h"

#include <thread>

#include <fmt/format.h>

#include "drivers/network_path.h"
#include "stack/payload.h"
#include "stack/udp_limits.h"

namespace zcb {

void ApplyDefaultPinning(TrialSpec& spec) {
  if (std::thread::hardware_concurrency() >= 2) {
    if (!spec.sender_cpu) spec.sender_cpu = 0;
    if (!spec.receiver_cpu) spec.receiver_cpu = 1;
  }
}

Result<ResolvedTrial> ResolveTrial(const TrialSpec& spec) {
  ResolvedTrial trial;
  trial.spec = spec;
  ZCB_ASSIGN_OR_RETURN(trial.strategy, FindStrategy(spec.strategy));
  const StrategyInfo& info = *trial.strategy;
  if (!info.Speaks(spec.protocol)) {
    return Errorf("strategy {} does not speak {}; use --protocol {}", info.name, ToString(spec.protocol),
                  info.Speaks(Protocol::kTcp) ? "tcp" : "udp");
  }
  trial.source = spec.source.value_or(info.DefaultSource());
  if (!info.CanSend(trial.source)) {
    std::string sources;
    for (SourceKind s : info.caps.sources) sources += fmt::format("{}{}", sources.empty() ? "" : ", ", ToString(s));
    return Errorf("strategy {} cannot send from a {} source; it sends from: {}", info.name, ToString(trial.source), sources);
  }
  if (spec.message_size == 0) return Errorf("message size must be at least 1 byte (--size)");
  if (spec.duration_s.has_value() == spec.bytes.has_value()) {
    return Errorf("give exactly one of --duration (seconds) or --bytes (a byte count)");
  }
  if (spec.duration_s && !(*spec.duration_s > 0)) return Errorf("--duration must be a positive number of seconds");
  if (spec.bytes && *spec.bytes == 0) return Errorf("--bytes must be at least 1");
  if (spec.cold_cache && trial.source != SourceKind::kFile) return Errorf("a cold page cache applies to the file source only");
  if (spec.cold_cache && spec.file_dir.empty()) {
    return Errorf("a cold page cache needs the payload file on disk (tmpfs pages cannot be dropped): give --file-dir DIR");
  }
  if (spec.pattern_period == 0 || spec.pattern_period % 4096 != 0) {
    return Errorf("the pattern period must be a positive multiple of 4096 bytes");
  }
  if (spec.working_set && *spec.working_set < 4096) {
    return Errorf("--working-set {}: at least 4K (e.g. 256K for a cache-resident buffer; default {} MiB, {} times the last-level cache)",
                  *spec.working_set, DefaultWorkingSet() >> 20, kWorkingSetPerLlc);
  }
  if (spec.protocol == Protocol::kUdp && spec.receiver == ReceiverMode::kZeroCopy) {
    return Errorf("receiver 'zerocopy' (TCP_ZEROCOPY_RECEIVE) has no UDP form; use verify, read or discard");
  }
  if (spec.protocol == Protocol::kUdp && spec.message_size > kMaxUdpPayloadIpv4) {
    // One datagram per message, or one UDP_SEGMENT buffer per call: both are IPv4 datagrams.
    return Errorf("--size {}: a UDP send carries at most {} bytes (65535 - 20 IPv4 - 8 UDP header bytes; one datagram, "
                  "or one UDP_SEGMENT buffer per call; the kernel refuses more with EMSGSIZE); use --size {} or less",
                  spec.message_size, kMaxUdpPayloadIpv4, kMaxUdpPayloadIpv4);
  }
  if (spec.gro && spec.protocol != Protocol::kUdp) return Errorf("--gro (UDP_GRO) applies to --protocol udp only");
  if (!(spec.drain_s > 0)) return Errorf("--drain must be a positive number of seconds");
  ZCB_RETURN_IF_ERROR(ValidatePathOptions(spec.path, spec.path_options));
  ZCB_RETURN_IF_ERROR(ValidateHostConstraints(spec.constraints));
  ZCB_ASSIGN_OR_RETURN(trial.options, Options::Parse(info.options, spec.options, "strategy " + info.name));
  if (info.validate) ZCB_RETURN_IF_ERROR(info.validate(trial.options, spec.protocol, spec.message_size));
  return trial;
}

}  // namespace zcb
