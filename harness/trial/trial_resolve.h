#pragma once

// A trial as the user asked for it (TrialSpec) and as checked against the registry
// (ResolvedTrial): every usage error (exit 2) a trial can have is found here, before
// anything runs, with a message that names what to fix.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drivers/host_constraints.h"
#include "drivers/network_path.h"
#include "harness/peers/peer_tool.h"
#include "stack/options.h"
#include "stack/pattern.h"
#include "stack/registry.h"
#include "stack/result.h"
#include "stack/sibling_thread.h"
#include "stack/types.h"
#include "workloads/workload.h"

namespace zcb {

// How the streams of a trial after the first are placed on CPUs (--stream-cpus), from the
// first stream's pins (--sender-cpu, --receiver-cpu): spread, stream i's sender and
// receiver each i CPUs further on (modulo the CPUs), or same, every stream on the first
// stream's CPUs. An unpinned side stays unpinned in every stream.
enum class StreamCpus { kSpread, kSame };
std::string_view ToString(StreamCpus placement);
std::optional<StreamCpus> ParseStreamCpus(std::string_view text);

// The most parallel streams a trial may have (--streams).
inline constexpr int kMaxStreams = 1024;

// What the user asked for. The command line and a spec set its fields through the
// parameter table (harness/plan/parameters.cc), the one place a parameter is declared.
struct TrialSpec {
  Protocol protocol = Protocol::kTcp;
  std::string strategy;
  std::optional<SourceKind> source;  // default: the strategy's first source
  uint64_t message_size = 64 * 1024;
  std::optional<double> duration_s;
  std::optional<uint64_t> bytes;
  ReceiverMode receiver = ReceiverMode::kVerify;
  std::optional<int> sender_cpu;  // nullopt: not pinned
  std::optional<int> receiver_cpu;
  uint64_t seed = 1;
  uint64_t rate_bps = 0;                       // 0: unpaced
  std::map<std::string, std::string> options;  // strategy options
  std::string path = "loopback";
  std::string path_name;  // as a spec names it (a [path.NAME]); empty: `path`
  std::map<std::string, std::string> path_options;
  // Socket options (stack/socket_options.h), key -> canonical value; each goes on the
  // socket its table entry names.
  std::map<std::string, std::string> socket_options;
  // net.core.optmem_max set for the trial in the sender's network namespace (root), and
  // put back afterwards; nullopt: left as it is.
  std::optional<uint64_t> optmem_max;
  std::string workload = "bulk";
  std::map<std::string, std::string> workload_options;  // the workload's options, as given
  size_t pattern_period = Pattern::kDefaultPeriod;
  std::optional<uint64_t> working_set;  // memory and file sources; nullopt: DefaultWorkingSet()
  std::string file_dir;                 // file source: empty = tmpfs
  std::string peer_dir;                 // peers' programs are looked up here before PATH
  bool cold_cache = false;              // file source: drop the page cache first
  double receive_timeout_s = 10;        // a stalled peer fails the trial after this long
  std::optional<int> rcvlowat;          // TCP: the receiver's SO_RCVLOWAT; nullopt: the receiver mode's
  // A fault to inject, for the tests of a stalled peer: the local TCP receiver stops
  // reading once it has this many bytes (StreamReceiver::StopReadingAfter) and holds the
  // connection open; nullopt: it reads the whole stream.
  std::optional<uint64_t> receiver_stall_after;
  bool gro = false;                // UDP: the receiver asks for UDP_GRO
  double drain_s = 0.5;            // UDP: after the sender is done, wait this long for stragglers
  HostConstraintSpec constraints;  // sender CPU quota, memory-bandwidth antagonist and limit
  int siblings = 0;                // threads of the process on other CPUs (sibling_threads.h)
  SiblingMode sibling_mode = SiblingMode::kSpin;
  // Parallel streams (iperf3's -P): this many connections (UDP: flows), each with its
  // sender and receiver thread, each sending `bytes` or for `duration_s` at `rate_bps`
  // (harness/trial/stream_set.h).
  int streams = 1;
  StreamCpus stream_cpus = StreamCpus::kSpread;
};

// A TrialSpec checked against the registry: everything a usage error (exit 2) can be
// about is found here, before anything runs.
struct ResolvedTrial {
  TrialSpec spec;
  // A zcbench strategy, or a peer's stand-in (harness/peers/peer_registry.h) when `peer`
  // is set: the peer's own programs then run instead of zcbench's sender and receiver.
  const StrategyInfo* strategy = nullptr;
  const PeerTool* peer = nullptr;
  SourceKind source = SourceKind::kMemory;
  Options options;
  const WorkloadInfo* workload = nullptr;  // the registered workload `spec.workload` names
  Options workload_options;                // its options, checked, defaults included
};

Result<ResolvedTrial> ResolveTrial(const TrialSpec& spec);

// Why a strategy, a path and the rest of a trial cannot go together: the one place these
// rules are written. The matrix leaves such points out (listing `combination` and
// `reason`), ResolveTrial refuses a request that contradicts itself (reason and `fix`),
// and a flow or the server can refuse what its receiving end cannot take.
struct Incompatibility {
  enum class Kind {
    kRequest,  // the request contradicts itself or the strategy (a usage error)
    kPath,     // the path cannot serve it (the point is unsupported there)
  };
  Kind kind = Kind::kRequest;
  std::string combination;  // the deciding parameters: "protocol=udp strategy=write"
  std::string reason;       // "write does not speak udp (it speaks tcp)"
  std::string fix;          // for the command line: "use --protocol tcp"; may be empty
  std::string Message() const { return fix.empty() ? reason : reason + "; " + fix; }
};

// The rules of those that concern the receiving end alone (the UDP size, the receiver
// mode, UDP_GRO): what a remote receiver checks of a request, with no strategy or path.
std::vector<Incompatibility> CheckReceivingEnd(const TrialSpec& spec);

// Every rule `spec` breaks, in a fixed order (the first explains the others best).
// `source` is the payload source the trial will use (the strategy's first when the spec
// names none); `path_name` as the user named the path; `workload` the trial's (null:
// its rules are left out, e.g. where the workload is not known yet).
std::vector<Incompatibility> CheckCompatibility(const StrategyInfo& strategy, const PathInfo& path,
                                                const TrialSpec& spec, SourceKind source,
                                                const WorkloadInfo* workload = nullptr);

// The default CPUs: sender on CPU 0 and receiver on CPU 1 where there are two or more.
void ApplyDefaultPinning(TrialSpec& spec);

}  // namespace zcb
