#include "harness/plan/parameters.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/host_constraints.h"
#include "harness/peers/peer_registry.h"
#include "harness/probes/probe_suite.h"
#include "stack/socket_options.h"
#include "stack/stream_receiver.h"

namespace zcb {
namespace {

// ---------------------------------------------------------------------------------------
// Parsers: text to canonical text. Every error quotes the text and says what is expected.

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<std::string> ParseSizeText(std::string_view text) {
  const auto size = ParseSize(text);
  if (!size) return Usagef("'{}' is not a size (expected bytes such as 4096, 64K, 1M or 1G)", text);
  if (*size == 0) return Usagef("'{}' is not a size (expected at least 1 byte)", text);
  return std::to_string(*size);
}

Result<std::string> ParseDurationText(std::string_view text) {
  const auto seconds = ParseDuration(text);
  if (!seconds) return Usagef("'{}' is not a duration (expected seconds such as 2, 0.5, 500ms or 2s)", text);
  if (!(*seconds > 0)) return Usagef("'{}' must be a positive duration", text);
  return fmt::format("{}", *seconds);
}

Result<std::string> ParseBoolText(std::string_view text) {
  if (text == "true" || text == "false") return std::string(text);
  return Usagef("'{}' is not true or false", text);
}

Result<std::string> ParseIntegerIn(std::string_view text, int64_t min, int64_t max) {
  const auto value = ParseInteger(text);
  if (!value) return Usagef("'{}' is not an integer", text);
  if (*value < min || *value > max) return Usagef("{} is out of range (expected {} to {})", *value, min, max);
  return std::to_string(*value);
}

// A CPU of this machine, or -1 for "not pinned".
Result<std::string> ParseCpu(std::string_view text, const SpecCatalog&) {
  const auto cpu = ParseInteger(text);
  if (!cpu) return Usagef("'{}' is not a CPU number (-1: not pinned)", text);
  const long cpus = ::sysconf(_SC_NPROCESSORS_CONF);
  if (*cpu < -1 || *cpu >= cpus)
    return Usagef("CPU {} does not exist here (this machine has CPUs 0-{}; -1: not pinned)", *cpu, cpus - 1);
  return std::to_string(*cpu);
}

Result<std::string> ParseProtocolText(std::string_view text, const SpecCatalog&) {
  if (!ParseProtocol(text)) return Usagef("unknown protocol '{}'; expected tcp or udp", text);
  return std::string(text);
}

// A strategy, or a peer (harness/peers/), which stands in the strategy coordinate.
Result<std::string> ParseStrategyText(std::string_view text, const SpecCatalog& catalog) {
  if (catalog.FindStrategy(text) == nullptr && FindPeer(text) == nullptr) {
    return Usagef("unknown strategy '{}'; valid strategies: {} (or \"all\"); peers: {}", text, catalog.StrategyNames(),
                  PeerNames());
  }
  return std::string(text);
}

Result<std::string> ParsePeerText(std::string_view text, const SpecCatalog&) {
  if (FindPeer(text) == nullptr) return Usagef("unknown peer '{}'; valid peers: {}", text, PeerNames());
  return std::string(text);
}

Result<std::string> ParseSourceText(std::string_view text, const SpecCatalog&) {
  if (!ParseSourceKind(text)) return Usagef("unknown source '{}'; expected memory, file or generated", text);
  return std::string(text);
}

Result<std::string> ParsePathText(std::string_view text, const SpecCatalog& catalog) {
  if (catalog.FindPath(text) == nullptr)
    return Usagef("unknown path '{}'; registered paths: {}", text, catalog.PathNames());
  return std::string(text);
}

Result<std::string> ParseReceiverText(std::string_view text, const SpecCatalog&) {
  if (!ParseReceiverMode(text))
    return Usagef("unknown receiver '{}'; expected verify, read, discard or zerocopy", text);
  return std::string(text);
}

Result<std::string> ParseWorkloadText(std::string_view text, const SpecCatalog& catalog) {
  if (catalog.FindWorkload(text) == nullptr) {
    return Usagef("unknown workload '{}'; valid workloads: {}", text, catalog.WorkloadNames());
  }
  return std::string(text);
}

Result<std::string> ParseRateText(std::string_view text, const SpecCatalog&) {
  if (text == "unpaced") return std::string("0");
  const auto rate = ParseRate(text);
  if (!rate) return Usagef("'{}' is not a rate (expected bits per second such as 500M, 10G, or unpaced)", text);
  return std::to_string(*rate);
}

Result<std::string> ParseCacheText(std::string_view text, const SpecCatalog&) {
  if (text != "warm" && text != "cold") return Usagef("unknown cache state '{}'; expected warm or cold", text);
  return std::string(text);
}

Result<std::string> ParseQuotaText(std::string_view text, const SpecCatalog&) {
  if (text == "none") return std::string("none");
  HostConstraintSpec probe;
  probe.sender_cpu_quota = ParseCpuQuota(text);
  if (!probe.sender_cpu_quota || !ValidateHostConstraints(probe).ok()) {
    return Usagef(
        "'{}' is not a CPU quota (expected none or a share of one CPU such as 20% or 0.5, at most the number of CPUs)",
        text);
  }
  return fmt::format("{:g}", *probe.sender_cpu_quota);
}

// Canonical: the CPUs listed one by one ("0-2" is "0,1,2").
Result<std::string> ParseCpuListText(std::string_view text, const SpecCatalog&) {
  if (text == "none") return std::string("none");
  const auto cpus = ParseCpuList(text);
  HostConstraintSpec probe;
  if (cpus) probe.membw_cpus = *cpus;
  if (!cpus || cpus->empty() || !ValidateHostConstraints(probe).ok()) {
    return Usagef("'{}' is not a list of this machine's CPUs (expected none or CPUs such as 1, 0,1 or 0-3)", text);
  }
  return fmt::format("{}", fmt::join(*cpus, ","));
}

// "none", or a percentage of the memory bandwidth ("40%" or 40) from 1 to 100.
Result<std::string> ParseMembwLimitText(std::string_view text, const SpecCatalog&) {
  if (text == "none") return std::string("none");
  std::string_view digits = text;
  if (!digits.empty() && digits.back() == '%') digits.remove_suffix(1);
  const auto percent = ParseInteger(digits);
  if (!percent || *percent < 1 || *percent > 100) {
    return Usagef("'{}' is not a memory-bandwidth limit (expected none or a percentage from 1% to 100%, e.g. 40%)",
                  text);
  }
  return std::to_string(*percent);
}

// Up to CPU_SETSIZE - 1 siblings: the spec and the command line take any count a Linux
// affinity mask can place; a host with fewer CPUs makes the trial unsupported, not the spec wrong.
Result<std::string> ParseSiblingsText(std::string_view text, const SpecCatalog&) {
  const auto count = ParseInteger(text);
  if (!count || *count < 0 || *count >= CPU_SETSIZE) {
    return Usagef("'{}' is not a number of sibling threads (expected an integer from 0 to {})", text, CPU_SETSIZE - 1);
  }
  return std::to_string(*count);
}

Result<std::string> ParseSiblingModeText(std::string_view text, const SpecCatalog&) {
  if (!ParseSiblingMode(text)) return Usagef("unknown sibling mode '{}'; expected spin or sleep", text);
  return std::string(text);
}

// One option of a strategy, path or workload; checked against the strategy's (path's,
// workload's) declaration when the trial is resolved.
Result<std::string> ParseKeyValue(std::string_view text, const SpecCatalog&) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return Usagef("'{}': expected key=value", text);
  return std::string(text);
}

Result<std::string> ParseAnyText(std::string_view text, const SpecCatalog&) { return std::string(text); }

// One socket option, checked against the socket-option table (stack/socket_options.h).
Result<std::string> ParseSocketOptionText(std::string_view text, const SpecCatalog&) { return ParseSocketOption(text); }

// What a remote receiving end needs of them: the options that go on the receiver's socket.
std::map<std::string, std::string> ReceiverSocketOptions(const TrialSpec& spec) {
  return SocketOptionsFor(SocketSide::kReceiver, spec.protocol, spec.socket_options);
}

Result<std::string> ParseSizeValue(std::string_view text, const SpecCatalog&) { return ParseSizeText(text); }
Result<std::string> ParseDurationValue(std::string_view text, const SpecCatalog&) { return ParseDurationText(text); }
Result<std::string> ParseBoolValue(std::string_view text, const SpecCatalog&) { return ParseBoolText(text); }

Result<std::string> ParsePatternPeriod(std::string_view text, const SpecCatalog&) {
  ZCB_ASSIGN_OR_RETURN(std::string size, ParseSizeText(text));
  if (std::stoull(size) % 4096 != 0) return Usagef("{} is not a multiple of 4096 bytes", size);
  return size;
}

Result<std::string> ParseWorkingSet(std::string_view text, const SpecCatalog&) {
  ZCB_ASSIGN_OR_RETURN(std::string size, ParseSizeText(text));
  if (std::stoull(size) < 4096) return Usagef("{} bytes is below 4K (e.g. 256K for a cache-resident buffer)", size);
  return size;
}

// "auto" (the receiver mode's low-water mark) or 1 byte to StreamReceiver::kMaxLowWater.
Result<std::string> ParseLowWaterText(std::string_view text, const SpecCatalog&) {
  if (text == "auto") return std::string(text);
  const auto size = ParseSize(text);
  if (!size || *size < 1 || *size > static_cast<uint64_t>(StreamReceiver::kMaxLowWater)) {
    return Usagef("'{}' is not a low-water mark (expected auto, or bytes from 1 to {} such as 1 or 64K)", text,
                  FormatSize(StreamReceiver::kMaxLowWater));
  }
  return std::to_string(*size);
}
// "none" or a size: the injected receiver stall (TrialSpec::receiver_stall_after).
Result<std::string> ParseStallText(std::string_view text, const SpecCatalog&) {
  if (text == "none") return std::string(text);
  const auto size = ParseSize(text);
  if (!size) return Usagef("'{}' is not a stall point (expected none, or a size such as 256K)", text);
  return std::to_string(*size);
}

std::optional<int> LowWaterOf(const std::string& canonical) {
  if (canonical == "auto") return std::nullopt;
  return std::stoi(canonical);
}

Result<std::string> ParseProbes(std::string_view text, const SpecCatalog&) {
  ZCB_RETURN_IF_ERROR(ParseProbeSelection(text));
  return std::string(text);
}

// The kernel keeps net.core.optmem_max in an int.
Result<std::string> ParseOptmemMax(std::string_view text, const SpecCatalog&) {
  ZCB_ASSIGN_OR_RETURN(std::string size, ParseSizeText(text));
  if (std::stoull(size) > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    return Usagef("{} bytes is over net.core.optmem_max's limit of {}", size, std::numeric_limits<int>::max());
  }
  return size;
}

Result<std::string> ParseStreamsText(std::string_view text, const SpecCatalog&) {
  const std::optional<int64_t> streams = ParseInteger(text);
  if (!streams || *streams < 1 || *streams > kMaxStreams) {
    return Usagef("streams '{}': expected a number of parallel streams from 1 to {}", text, kMaxStreams);
  }
  return std::to_string(*streams);
}
Result<std::string> ParseStreamCpusText(std::string_view text, const SpecCatalog&) {
  if (!ParseStreamCpus(text)) return Usagef("stream_cpus '{}': expected spread or same", text);
  return std::string(text);
}
Result<std::string> ParseWarmups(std::string_view text, const SpecCatalog&) { return ParseIntegerIn(text, 0, 100); }
Result<std::string> ParseProfileHz(std::string_view text, const SpecCatalog&) {
  return ParseIntegerIn(text, 1, 100000);
}
Result<std::string> ParseSeed(std::string_view text, const SpecCatalog&) {
  return ParseIntegerIn(text, 0, std::numeric_limits<int64_t>::max());
}

std::optional<int> CpuOf(const std::string& canonical) { return std::stoi(canonical); }

std::string DisplaySize(const std::string& canonical) { return FormatSize(std::stoull(canonical)); }

std::string SourceDefault(const TrialSpec& spec, const SpecCatalog& catalog) {
  const StrategyInfo* info = catalog.FindStrategy(spec.strategy);
  if (const PeerTool* peer = FindPeer(spec.strategy); info == nullptr && peer != nullptr) {
    return std::string(ToString(peer->capabilities().source));
  }
  return std::string(ToString(info != nullptr ? info->DefaultSource() : SourceKind::kMemory));
}
std::string SizeDefault(const TrialSpec& spec, const SpecCatalog&) {
  return std::to_string(DefaultMessageSize(spec.protocol));
}

constexpr Applicability kTcpOnly{{Protocol::kTcp}, {SourceKind::kMemory, SourceKind::kFile, SourceKind::kGenerated}};
constexpr Applicability kUdpOnly{{Protocol::kUdp}, {SourceKind::kMemory, SourceKind::kFile, SourceKind::kGenerated}};
constexpr Applicability kFileOnly{{Protocol::kTcp, Protocol::kUdp}, {SourceKind::kFile}};
constexpr Applicability kBuffers{{Protocol::kTcp, Protocol::kUdp}, {SourceKind::kMemory, SourceKind::kFile}};

// ---------------------------------------------------------------------------------------
// The table.

std::vector<Parameter> MakeTable() {
  std::vector<Parameter> t;
  auto add = [&t](Parameter p) -> Parameter& { return t.emplace_back(std::move(p)); };
  const Applicability everywhere;

  // --- [matrix]: the axes, in expansion order ------------------------------------------
  {
    Parameter& p = add({"protocol", SpecSection::kMatrix, "--protocol", ValueKind::kName, "a protocol", "tcp",
                        "tcp or udp", everywhere, AxisKind::kProtocol});
    p.parse = ParseProtocolText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.protocol = *ParseProtocol(v); };
    p.read = [](const TrialSpec& s) { return std::string(ToString(s.protocol)); };
    p.key_part = KeyPart::kSlash;
    p.key_position = 0;
    p.label_part = LabelPart::kWord;
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"strategy", SpecSection::kMatrix, "--strategy,-s", ValueKind::kName, "a strategy name", "",
                        "the send strategy (zcbench list strategies); on the command line a comma list, or 'all' for "
                        "every strategy that speaks the protocol and sends from the source",
                        everywhere, AxisKind::kStrategy});
    p.parse = ParseStrategyText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.strategy = v; };
    p.read = [](const TrialSpec& s) { return s.strategy; };
    p.key_part = KeyPart::kSlash;
    p.key_position = 1;
    p.label_part = LabelPart::kWord;
  }
  {
    // Peers are walked with the strategies (their names take the strategy coordinate):
    // the matrix keeps a peer's point where its capabilities hold (harness/peers/).
    Parameter& p = add({"peers", SpecSection::kMatrix, "", ValueKind::kName, "a peer name", "",
                        "tools users already trust, run as entries of the matrix beside the strategies, on the same "
                        "path, pinning, duration and probe window (zcbench list peers); their figures come from their "
                        "own output and are not verified by zcbench",
                        everywhere, AxisKind::kPeers});
    p.parse = ParsePeerText;
    p.extends = AxisKind::kStrategy;
  }
  {
    Parameter& p = add({"source", SpecSection::kMatrix, "--source", ValueKind::kName, "a payload source", "",
                        "payload source: memory, file or generated (default: the strategy's first)", everywhere,
                        AxisKind::kSource});
    p.parse = ParseSourceText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.source = *ParseSourceKind(v); };
    p.read = [](const TrialSpec& s) { return s.source ? std::string(ToString(*s.source)) : std::string(); };
    p.default_for = SourceDefault;
    p.key_part = KeyPart::kSlash;
    p.key_position = 4;
    p.label_part = LabelPart::kWord;
  }
  {
    Parameter& p =
        add({"message_size", SpecSection::kMatrix, "--size,-l", ValueKind::kSize, "a size", "",
             "message size per send, with K/M/G suffixes (default 64K for TCP; for UDP 1472, the datagram size)",
             everywhere, AxisKind::kMessageSize});
    p.parse = ParseSizeValue;
    p.apply = [](const std::string& v, TrialSpec& s) { s.message_size = std::stoull(v); };
    p.read = [](const TrialSpec& s) { return std::to_string(s.message_size); };
    p.default_for = SizeDefault;
    p.key_part = KeyPart::kSlash;
    p.key_position = 5;
    p.label_part = LabelPart::kWord;
    p.display = DisplaySize;
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"path", SpecSection::kMatrix, "--path", ValueKind::kName, "a path name", "loopback",
                        "network path (zcbench list paths); in a spec also a [path.NAME] defined there", everywhere,
                        AxisKind::kPath});
    p.parse = ParsePathText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.path = s.path_name = v; };
    p.read = [](const TrialSpec& s) { return s.path_name.empty() ? s.path : s.path_name; };
    p.key_part = KeyPart::kSlash;
    p.key_position = 2;
    p.label_part = LabelPart::kWord;
  }
  {
    Parameter& p = add({"receiver", SpecSection::kMatrix, "--receiver", ValueKind::kName, "a receiver mode", "verify",
                        "verify, read, discard or zerocopy (TCP_ZEROCOPY_RECEIVE)", everywhere, AxisKind::kReceiver});
    p.parse = ParseReceiverText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.receiver = *ParseReceiverMode(v); };
    p.read = [](const TrialSpec& s) { return std::string(ToString(s.receiver)); };
    p.key_part = KeyPart::kSlash;
    p.key_position = 6;
    p.label_part = LabelPart::kWord;
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"workload", SpecSection::kMatrix, "--workload", ValueKind::kName, "a workload name", "bulk",
                        "what the sender sends and when, and what the receiver checks (zcbench list workloads)",
                        everywhere, AxisKind::kWorkload});
    p.parse = ParseWorkloadText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.workload = v; };
    p.read = [](const TrialSpec& s) { return s.workload; };
    p.key_part = KeyPart::kSlash;
    p.key_position = 3;
    p.label_part = LabelPart::kValue;
    p.receiving_end = true;  // the receiver learns from the workload what to expect
  }
  {
    Parameter& p =
        add({"rate", SpecSection::kMatrix, "--rate,-b", ValueKind::kRate, "a rate", "0",
             "target rate in bits per second with K/M/G suffixes, or unpaced (0)", everywhere, AxisKind::kRate});
    p.parse = ParseRateText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.rate_bps = std::stoull(v); };
    p.read = [](const TrialSpec& s) { return std::to_string(s.rate_bps); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "rate_bps";
    p.label_part = LabelPart::kNamed;
    p.label_name = "rate";
  }
  {
    Parameter& p = add({"cache", SpecSection::kMatrix, "--cache", ValueKind::kName, "a page-cache state", "warm",
                        "the payload file's page cache: warm or cold (cold needs a file directory on disk)", kFileOnly,
                        AxisKind::kCache});
    p.parse = ParseCacheText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.cold_cache = v == "cold"; };
    p.read = [](const TrialSpec& s) { return std::string(s.cold_cache ? "cold" : "warm"); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "page_cache";
    p.label_part = LabelPart::kValue;
  }
  // A [trial] setting, but part of the point: its place in the key is here.
  {
    Parameter& p = add({"working_set", SpecSection::kTrial, "--working-set", ValueKind::kSize, "a size", "",
                        "bytes the sends cycle through (default: 4 times the last-level cache, so that they read from "
                        "DRAM; e.g. 256K for a cache-resident buffer)",
                        kBuffers});
    p.parse = ParseWorkingSet;
    p.read = [](const TrialSpec& s) { return s.working_set ? std::to_string(*s.working_set) : std::string(); };
    p.apply = [](const std::string& v, TrialSpec& s) { s.working_set = std::stoull(v); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "working_set";
  }
  {
    Parameter& p = add({"sender_cpu_quota", SpecSection::kMatrix, "--sender-cpu-quota", ValueKind::kFraction,
                        "a CPU quota", "none", "limit the sender thread to this share of one CPU (a cgroup), e.g. 20%",
                        everywhere, AxisKind::kSenderCpuQuota});
    p.parse = ParseQuotaText;
    p.apply = [](const std::string& v, TrialSpec& s) {
      s.constraints.sender_cpu_quota = v == "none" ? std::nullopt : std::optional<double>(std::stod(v));
    };
    p.read = [](const TrialSpec& s) {
      return s.constraints.sender_cpu_quota ? fmt::format("{:g}", *s.constraints.sender_cpu_quota)
                                            : std::string("none");
    };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "sender_cpu_quota";
    p.label_part = LabelPart::kNamed;
    p.label_name = "quota";
  }
  {
    Parameter& p = add({"membw_antagonist", SpecSection::kMatrix, "--membw-antagonist", ValueKind::kName,
                        "\"none\" or a CPU list", "none", "stream memory on these CPUs during the trial, e.g. 1 or 0,1",
                        everywhere, AxisKind::kMembwAntagonist});
    p.parse = ParseCpuListText;
    p.apply = [](const std::string& v, TrialSpec& s) {
      s.constraints.membw_cpus = v == "none" ? std::vector<int>{} : ParseCpuList(v).value_or(std::vector<int>{});
    };
    p.read = [](const TrialSpec& s) {
      return s.constraints.membw_cpus.empty() ? std::string("none")
                                              : fmt::format("{}", fmt::join(s.constraints.membw_cpus, ","));
    };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "membw_antagonist_cpus";
    p.label_part = LabelPart::kNamed;
    p.label_name = "membw";
  }
  {
    Parameter& p = add({"membw_limit", SpecSection::kMatrix, "--membw-limit", ValueKind::kFraction,
                        "\"none\" or a percentage", "none",
                        "cap the trial's threads at this share of the memory bandwidth (resctrl MB, root): a resctrl "
                        "group removed afterwards; a host without it makes the trial unsupported (zcbench doctor; "
                        "--membw-antagonist emulates a memory-starved host there)",
                        everywhere, AxisKind::kMembwLimit});
    p.parse = ParseMembwLimitText;
    p.apply = [](const std::string& v, TrialSpec& s) {
      s.constraints.membw_limit_percent = v == "none" ? std::nullopt : std::optional<int>(std::stoi(v));
    };
    p.read = [](const TrialSpec& s) {
      return s.constraints.membw_limit_percent ? std::to_string(*s.constraints.membw_limit_percent)
                                               : std::string("none");
    };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "membw_limit";
    p.label_part = LabelPart::kNamed;
    p.label_name = "membw_limit";
    p.display = [](const std::string& v) { return v + "%"; };
  }
  {
    Parameter& p = add({"siblings", SpecSection::kMatrix, "--siblings", ValueKind::kInteger, "an integer", "0",
                        "threads of the sender's process on other CPUs while it sends, one per CPU (never the "
                        "sender's; the receiver's only when no other is left), so that munmap and page pinning must "
                        "shoot down their TLBs too (params.siblings); more than the CPUs besides the sender's: "
                        "unsupported",
                        everywhere, AxisKind::kSiblings});
    p.parse = ParseSiblingsText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.siblings = std::stoi(v); };
    p.read = [](const TrialSpec& s) { return std::to_string(s.siblings); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "siblings";
    p.label_part = LabelPart::kNamed;
    p.label_name = "siblings";
  }
  // A [trial] setting, but part of the point: its place in the key is here.
  {
    Parameter& p =
        add({"sibling_mode", SpecSection::kTrial, "--sibling-mode", ValueKind::kName, "spin or sleep", "spin",
             "what the sibling threads do: spin keeps the process's address space live on their CPUs "
             "(every munmap must interrupt them); sleep runs once there and blocks, leaving the CPU idle "
             "in lazy-TLB mode, which the kernel's shootdowns skip",
             everywhere});
    p.parse = ParseSiblingModeText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.sibling_mode = *ParseSiblingMode(v); };
    p.read = [](const TrialSpec& s) { return std::string(ToString(s.sibling_mode)); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "sibling_mode";
  }
  {
    Parameter& p = add({"streams", SpecSection::kMatrix, "--streams,-P", ValueKind::kInteger, "an integer", "1",
                        "parallel streams (iperf3 -P): this many connections (UDP: flows; request_response: "
                        "clients), each with its sender and receiver thread, each sending --bytes or for --duration "
                        "at --rate; placed on CPUs by stream_cpus",
                        everywhere, AxisKind::kStreams});
    p.parse = ParseStreamsText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.streams = std::stoi(v); };
    p.read = [](const TrialSpec& s) { return std::to_string(s.streams); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "streams";
    p.label_part = LabelPart::kNamed;
    p.label_name = "streams";
  }
  // A [trial] setting, but part of the point (with more than one stream): its place in the key is here.
  {
    Parameter& p =
        add({"stream_cpus", SpecSection::kTrial, "--stream-cpus", ValueKind::kName, "spread or same", "spread",
             "where streams after the first run: spread (stream i's sender and receiver i CPUs after the "
             "first stream's --sender-cpu and --receiver-cpu, wrapping) or same (all on the first "
             "stream's CPUs); an unpinned side stays unpinned",
             everywhere});
    p.parse = ParseStreamCpusText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.stream_cpus = *ParseStreamCpus(v); };
    p.read = [](const TrialSpec& s) { return std::string(ToString(s.stream_cpus)); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "stream_cpus";
  }
  {
    Parameter& p = add({"udp_gro", SpecSection::kTrial, "--gro", ValueKind::kBool, "true or false", "false",
                        "the receiver asks for UDP_GRO (coalesced datagrams, split and checked one by one)", kUdpOnly});
    p.parse = ParseBoolValue;
    p.read = [](const TrialSpec& s) { return std::string(s.gro ? "true" : "false"); };
    p.apply = [](const std::string& v, TrialSpec& s) { s.gro = v == "true"; };
    p.key_part = KeyPart::kFlag;
    p.key_name = "gro";
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"strategy_options", SpecSection::kMatrix, "--option,-o", ValueKind::kKeyValues, "key=value", "",
                        "strategy option key=value (zcbench help STRATEGY); in a spec [matrix.strategy_options], one "
                        "axis per option",
                        everywhere, AxisKind::kStrategyOption});
    p.parse = ParseKeyValue;
    p.key_values = &TrialSpec::options;
    p.key_part = KeyPart::kOptions;
  }
  {
    Parameter& p =
        add({"path_options", SpecSection::kMatrix, "--path-option", ValueKind::kKeyValues, "key=value", "",
             "path option key=value (zcbench help PATH); in a spec [matrix.path_options], one axis per option, "
             "or fixed in a [path.NAME]",
             everywhere, AxisKind::kPathOption});
    p.parse = ParseKeyValue;
    p.key_values = &TrialSpec::path_options;
    p.key_part = KeyPart::kOptions;
    p.key_name = "path.";
  }
  {
    Parameter& p =
        add({"workload_options", SpecSection::kMatrix, "--workload-option", ValueKind::kKeyValues, "key=value", "",
             "workload option key=value (zcbench help WORKLOAD); in a spec [matrix.workload_options], one "
             "axis per option",
             everywhere, AxisKind::kWorkloadOption});
    p.parse = ParseKeyValue;
    p.key_values = &TrialSpec::workload_options;
    p.key_part = KeyPart::kOptions;
    p.key_name = "workload.";
    p.receiving_end = true;  // the receiver makes the workload with them
  }
  {
    Parameter& p =
        add({"socket_options", SpecSection::kMatrix, "--socket-option", ValueKind::kKeyValues, "key=value", "",
             "socket option key=value: sndbuf, rcvbuf, nodelay, congestion, busy_poll (zcbench help "
             "socket_options); in a spec [matrix.socket_options], one axis per option",
             everywhere, AxisKind::kSocketOption});
    p.parse = ParseSocketOptionText;
    p.key_values = &TrialSpec::socket_options;
    p.key_part = KeyPart::kOptions;
    p.key_name = "sock.";
    // A remote receiver gets the options of the receiver's socket (rcvbuf, busy_poll).
    p.receiving_end = true;
    p.receiving_end_options = ReceiverSocketOptions;
  }

  // --- [trial]: one value for every point -----------------------------------------------
  {
    Parameter& p = add({"duration", SpecSection::kTrial, "--duration,-t", ValueKind::kDuration, "a duration", "",
                        "seconds to send for (or with a unit: 500ms, 2s); give this or bytes (a spec with neither: 2s)",
                        everywhere});
    p.parse = ParseDurationValue;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.duration_s = std::stod(v); };
  }
  {
    Parameter& p = add({"bytes", SpecSection::kTrial, "--bytes,-n", ValueKind::kSize, "a size", "",
                        "send exactly this many bytes (K/M/G suffixes); give this or duration", everywhere});
    p.parse = ParseSizeValue;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.bytes = std::stoull(v); };
  }
  {
    Parameter& p = add({"warmup", SpecSection::kTrial, "", ValueKind::kInteger, "an integer", "0",
                        "warm-up trials per point (recorded with warmup: true, never counted)", everywhere});
    p.parse = ParseWarmups;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.warmup = std::stoi(v); };
  }
  {
    Parameter& p = add({"warmup_duration", SpecSection::kTrial, "", ValueKind::kDuration, "a duration", "duration",
                        "a warm-up trial's duration, when trials are timed", everywhere});
    p.parse = ParseDurationValue;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.warmup_duration_s = std::stod(v); };
  }
  {
    Parameter& p = add({"warmup_bytes", SpecSection::kTrial, "", ValueKind::kSize, "a size", "bytes",
                        "a warm-up trial's byte count, when trials send a fixed count", everywhere});
    p.parse = ParseSizeValue;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.warmup_bytes = std::stoull(v); };
  }
  {
    Parameter& p = add({"pin", SpecSection::kTrial, "", ValueKind::kBool, "true or false", "true",
                        "pin sender and receiver (default CPUs 0 and 1 where there are two)", everywhere});
    p.parse = ParseBoolValue;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.pin = v == "true"; };
  }
  {
    Parameter& p = add({"sender_cpu", SpecSection::kTrial, "--sender-cpu", ValueKind::kInteger, "an integer",
                        "0 with 2+ CPUs", "CPU to pin the sender to (-1: not pinned)", everywhere});
    p.parse = ParseCpu;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.sender_cpu = CpuOf(v); };
  }
  {
    Parameter& p = add({"receiver_cpu", SpecSection::kTrial, "--receiver-cpu", ValueKind::kInteger, "an integer",
                        "1 with 2+ CPUs", "CPU to pin the receiver to (-1: not pinned)", everywhere});
    p.parse = ParseCpu;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.receiver_cpu = CpuOf(v); };
  }
  {
    Parameter& p = add({"receive_timeout", SpecSection::kTrial, "", ValueKind::kDuration, "a duration", "10s",
                        "a stalled peer fails the trial after this long", everywhere});
    p.parse = ParseDurationValue;
    p.apply = [](const std::string& v, TrialSpec& s) { s.receive_timeout_s = std::stod(v); };
    p.read = [](const TrialSpec& s) { return fmt::format("{}", s.receive_timeout_s); };
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"rcvlowat", SpecSection::kTrial, "--rcvlowat", ValueKind::kSize, "auto or a size", "auto",
                        "the TCP receiver's SO_RCVLOWAT: it wakes once this many bytes are queued (auto: 64K for "
                        "discard, as the msg_zerocopy selftest's receiver; 1, the kernel's, for the others)",
                        kTcpOnly});
    p.parse = ParseLowWaterText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.rcvlowat = LowWaterOf(v); };
    p.read = [](const TrialSpec& s) { return s.rcvlowat ? std::to_string(*s.rcvlowat) : std::string("auto"); };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "rcvlowat";
    p.receiving_end = true;
  }
  {
    // A fault option, for the tests of a stalled peer: the trial is meant to fail.
    Parameter& p = add({"receiver_stall_after", SpecSection::kTrial, "", ValueKind::kSize, "none or a size", "none",
                        "fault injection: the local TCP receiver stops reading after this many bytes and holds the "
                        "connection open, so that the trial fails with the sender's timeout (receive_timeout)",
                        kTcpOnly});
    p.parse = ParseStallText;
    p.apply = [](const std::string& v, TrialSpec& s) {
      s.receiver_stall_after = v == "none" ? std::nullopt : std::optional<uint64_t>(std::stoull(v));
    };
    p.read = [](const TrialSpec& s) {
      return s.receiver_stall_after ? std::to_string(*s.receiver_stall_after) : std::string("none");
    };
    p.key_part = KeyPart::kWhenChanged;
    p.key_name = "receiver_stall_after";
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"pattern_period", SpecSection::kTrial, "--pattern-period", ValueKind::kSize, "a size", "256K",
                        "payload pattern period (a multiple of 4K)", everywhere});
    p.parse = ParsePatternPeriod;
    p.apply = [](const std::string& v, TrialSpec& s) { s.pattern_period = std::stoull(v); };
    p.read = [](const TrialSpec& s) { return std::to_string(s.pattern_period); };
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"file_dir", SpecSection::kTrial, "--file-dir", ValueKind::kName, "a directory", "tmpfs",
                        "the file source's directory for the payload file (on disk for a cold cache)", kFileOnly});
    p.parse = ParseAnyText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.file_dir = v; };
  }
  {
    Parameter& p =
        add({"peer_dir", SpecSection::kTrial, "--peer-dir", ValueKind::kName, "a directory", "PATH",
             "where the peers' programs (nginx, wrk, iperf3, sockperf) are looked up before PATH", everywhere});
    p.parse = ParseAnyText;
    p.apply = [](const std::string& v, TrialSpec& s) { s.peer_dir = v; };
  }
  {
    Parameter& p = add({"membw_antagonist_size", SpecSection::kTrial, "--membw-antagonist-size", ValueKind::kSize,
                        "a size", "64M", "memory per memory-bandwidth antagonist thread", everywhere});
    p.parse = ParseSizeValue;
    // Set on every trial; only a trial with antagonist CPUs starts antagonists (and records it).
    p.apply = [](const std::string& v, TrialSpec& s) { s.constraints.membw_buffer_bytes = std::stoull(v); };
  }
  {
    Parameter& p = add({"drain", SpecSection::kTrial, "--drain", ValueKind::kDuration, "a duration", "0.5s",
                        "seconds the receiver waits for stragglers after the sender is done", kUdpOnly});
    p.parse = ParseDurationValue;
    p.apply = [](const std::string& v, TrialSpec& s) { s.drain_s = std::stod(v); };
    p.read = [](const TrialSpec& s) { return fmt::format("{}", s.drain_s); };
    p.receiving_end = true;
  }
  {
    Parameter& p = add({"optmem_max", SpecSection::kTrial, "--optmem-max", ValueKind::kSize, "a size", "as it is",
                        "net.core.optmem_max for each trial in the sender's network namespace (root; put back after "
                        "the trial, or by zcbench cleanup after a crash): the socket option memory MSG_ZEROCOPY "
                        "notifications are charged to (params.optmem_max)",
                        everywhere});
    p.parse = ParseOptmemMax;
    p.apply = [](const std::string& v, TrialSpec& s) { s.optmem_max = std::stoull(v); };
  }
  {
    Parameter& p = add({"probes", SpecSection::kTrial, "--probes", ValueKind::kName, "a probe selection", "default",
                        "measurement probes: default, all, none, or a comma list of ebpf, counters, memory, profile, "
                        "bpf_stats and eBPF groups (zcbench help probes)",
                        everywhere});
    p.parse = ParseProbes;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.probes = v; };
  }
  {
    Parameter& p = add({"profile_hz", SpecSection::kTrial, "--profile-hz", ValueKind::kInteger, "an integer", "499",
                        "CPU profile samples per second per CPU (metrics.cpu_profile)", everywhere});
    p.parse = ParseProfileHz;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.profile_hz = std::stoi(v); };
  }
  {
    Parameter& p = add({"membw_probe", SpecSection::kTrial, "--membw-probe", ValueKind::kBool, "true or false", "false",
                        "co-run a memory-bandwidth probe on a spare CPU (metrics.memory.bandwidth_probe)", everywhere});
    p.parse = ParseBoolValue;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.membw_probe = v == "true"; };
  }
  {
    Parameter& p = add({"membw_probe_cpu", SpecSection::kTrial, "--membw-probe-cpu", ValueKind::kInteger, "an integer",
                        "", "CPU for the memory-bandwidth probe (default: one the trial does not use)", everywhere});
    p.parse = ParseCpu;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.trial.membw_probe_cpu = CpuOf(v); };
  }

  // --- [experiment] -----------------------------------------------------------------------
  {
    Parameter& p = add({"seed", SpecSection::kExperiment, "--seed", ValueKind::kInteger, "an integer", "1",
                        "payload pattern seed (a spec without one draws one per run and records it)", everywhere});
    p.parse = ParseSeed;
    p.set = [](const std::string& v, ExperimentSpec& e) { e.seed = std::stoull(v); };
    p.receiving_end = true;
    p.read = [](const TrialSpec& s) { return std::to_string(s.seed); };
    // The run plan sets each trial's seed (set above); `apply` is for the receiving end's trial.
    p.apply = [](const std::string& v, TrialSpec& s) { s.seed = std::stoull(v); };
  }

  // --- the command line only: shortcuts -----------------------------------------------------
  {
    Parameter& p = add({"peer", SpecSection::kCommandLine, "--peer", ValueKind::kName, "HOST:PORT", "",
                        "--path remote: HOST:PORT where zcbench serve listens (the path option peer)", everywhere});
    p.parse = ParseAnyText;
    p.shortcut_for = "path_options";
  }
  {
    Parameter& p =
        add({"token_file", SpecSection::kCommandLine, "--token-file", ValueKind::kName, "a file", "",
             "--path remote: file with the token shared with zcbench serve (the path option token_file)", everywhere});
    p.parse = ParseAnyText;
    p.shortcut_for = "path_options";
  }
  return t;
}

}  // namespace

std::string_view ToString(SpecSection section) {
  switch (section) {
    case SpecSection::kMatrix:
      return "matrix";
    case SpecSection::kTrial:
      return "trial";
    case SpecSection::kExperiment:
      return "experiment";
    case SpecSection::kCommandLine:
      return "command line";
  }
  return "?";
}

std::string Applicability::Describe() const {
  std::vector<std::string> parts;
  std::vector<std::string> protocol_names, source_names;
  for (Protocol p : AllProtocols()) {
    if (protocols.Has(p)) protocol_names.emplace_back(ToString(p));
  }
  for (SourceKind s : AllSourceKinds()) {
    if (sources.Has(s)) source_names.emplace_back(ToString(s));
  }
  if (protocol_names.size() != AllProtocols().size())
    parts.push_back(fmt::format("{} only", fmt::join(protocol_names, ", ")));
  if (source_names.size() != AllSourceKinds().size()) {
    parts.push_back(
        fmt::format("the {} source{} only", fmt::join(source_names, " and "), source_names.size() > 1 ? "s" : ""));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

const std::vector<Parameter>& Parameters() {
  static const std::vector<Parameter> table = MakeTable();
  return table;
}

const Parameter* FindParameter(std::string_view key, SpecSection section) {
  for (const Parameter& p : Parameters()) {
    if (p.key == key && p.section == section) return &p;
  }
  return nullptr;
}

const Parameter* FindAxisParameter(AxisKind kind) {
  for (const Parameter& p : Parameters()) {
    if (p.axis == kind) return &p;
  }
  return nullptr;
}

std::vector<const Parameter*> ReceivingEndParameters() {
  std::vector<const Parameter*> out;
  for (const Parameter& p : Parameters()) {
    if (p.receiving_end) out.push_back(&p);
  }
  return out;
}

void SetOption(const Parameter& parameter, const std::string& canonical, TrialSpec& spec) {
  const size_t eq = canonical.find('=');
  (spec.*parameter.key_values)[canonical.substr(0, eq)] = canonical.substr(eq + 1);
}

std::vector<const Parameter*> ParametersIn(SpecSection section) {
  std::vector<const Parameter*> out;
  for (const Parameter& p : Parameters()) {
    if (p.section == section) out.push_back(&p);
  }
  return out;
}

std::string ParameterHelp() {
  std::string out =
      "Trial parameters: the flags of zcbench run and the keys of an experiment spec (one table, "
      "harness/plan/parameters.cc).\n";
  for (SpecSection section :
       {SpecSection::kMatrix, SpecSection::kTrial, SpecSection::kExperiment, SpecSection::kCommandLine}) {
    out += section == SpecSection::kCommandLine
               ? "\nthe command line only:\n"
               : fmt::format("\n[{}]{}:\n", ToString(section),
                             section == SpecSection::kMatrix ? " (axes: one value or a list)" : "");
    for (const Parameter* p : ParametersIn(section)) {
      const std::string flags = p->flags.empty() ? "(spec only)" : std::string(p->flags);
      out += fmt::format("  {:<22} {:<24} {}\n", p->key, flags, p->help);
      std::vector<std::string> facts;
      if (!p->default_text.empty()) facts.push_back(fmt::format("default {}", p->default_text));
      if (const std::string where = p->applies.Describe(); !where.empty())
        facts.push_back(fmt::format("applies to {}", where));
      if (!facts.empty()) out += fmt::format("  {:<22} {:<24} ({})\n", "", "", fmt::join(facts, "; "));
    }
  }
  return out;
}

PointIdentity IdentifyPoint(const TrialSpec& spec) {
  PointIdentity id;
  std::vector<std::string> slash(7);
  std::string words, extras, suffix;
  for (const Parameter& p : Parameters()) {
    if (p.read == nullptr && p.key_values == nullptr) continue;
    const std::string value = p.read != nullptr ? p.read(spec) : std::string();
    if (p.section == SpecSection::kMatrix && p.read != nullptr) id.coords[std::string(p.key)] = value;
    const bool changed = !value.empty() && value != p.default_text && !(p.kind == ValueKind::kBool && value == "false");
    switch (p.key_part) {
      case KeyPart::kNone:
        break;
      case KeyPart::kSlash:
        slash[static_cast<size_t>(p.key_position)] = value;
        break;
      case KeyPart::kWhenChanged:
        // A list's commas would end the field: its elements are joined with '+'.
        if (changed) {
          std::string text = value;
          std::replace(text.begin(), text.end(), ',', '+');
          suffix += fmt::format(",{}={}", p.key_name, text);
        }
        break;
      case KeyPart::kFlag:
        if (value == "true") suffix += fmt::format(",{}", p.key_name);
        break;
      case KeyPart::kOptions:
        for (const auto& [k, v] : spec.*p.key_values) suffix += fmt::format(",{}{}={}", p.key_name, k, v);
        break;
    }
    const std::string shown = p.display != nullptr && !value.empty() ? p.display(value) : value;
    switch (p.label_part) {
      case LabelPart::kNone:
        break;
      case LabelPart::kWord:
        words += fmt::format("{}{}", words.empty() ? "" : " ", shown);
        break;
      case LabelPart::kNamed:
        if (changed) extras += fmt::format(" {}={}", p.label_name, shown);
        break;
      case LabelPart::kValue:
        if (changed) extras += fmt::format(" {}", shown);
        break;
    }
  }
  // The key names the registered path type (a [path.NAME] is its type with options,
  // which follow below); the label and the coordinates name the path as the spec does.
  slash[2] = spec.path;
  id.key = fmt::format("{}", fmt::join(slash, "/"));
  id.key += suffix;
  id.label = words + extras;
  return id;
}

std::string PointKey(const TrialSpec& spec) { return IdentifyPoint(spec).key; }

std::string PointKey(const ResolvedTrial& trial) {
  TrialSpec spec = trial.spec;
  spec.source = trial.source;
  spec.options = trial.options.given();
  spec.workload_options = trial.workload_options.given();
  return PointKey(spec);
}

}  // namespace zcb
