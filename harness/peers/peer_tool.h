#pragma once

// A peer: a benchmark tool users already trust (iperf3, sockperf), run by zcbench as an
// entry of the matrix beside its own strategies, like one of fio's engines. A peer says
// what it can measure (its capabilities: protocols, workloads, message sizes), the two
// command lines of a trial (its server, in the path's receiver namespace, and its client,
// in the sender's), and how to read the figures from its own output. The trial runner
// for peers (harness/trial/peer_trial.cc) starts, pins, times and measures them; the
// registry (peer_registry.h) lists them and finds their programs.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/options.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

// What a peer can measure. The matrix keeps a peer's point only where these hold (the
// others are left out with the reason), never by the peer's name.
struct PeerCapabilities {
  EnumSet<Protocol> protocols;
  std::vector<std::string> workloads;  // zcbench workloads it stands for ("bulk")
  uint64_t max_message_size = 0;       // the largest message its client sends (0: none)
  // The payload source its sender reads from, in zcbench's terms, and how it sends it:
  // said in the record, and the memory model's input.
  SourceKind source = SourceKind::kMemory;
  std::string sends_with;  // "write() from a MAP_SHARED mapping of a temporary file"
  // The workload options whose values it can honour, option -> values (a point giving
  // another value is left out with the reason); an option not listed is not checked.
  std::map<std::string, std::vector<std::string>> workload_option_values;
  // The matrix's workload-option axes vary it (a file server: the file set's options).
  bool takes_workload_options = false;
  // Its server answers each request with a response (a file server), as a strategy with
  // sends_responses does for file_serving.
  bool serves_responses = false;
};

// One trial as the peer is asked to run it.
struct PeerInvocation {
  Protocol protocol = Protocol::kTcp;
  std::string address;  // the receiver's IPv4 address, numeric
  uint16_t port = 0;    // the server's port (chosen free by the runner)
  uint64_t message_size = 0;
  double duration_s = 0;
  uint64_t seed = 1;                                 // the trial's pattern seed
  const Options* workload_options = nullptr;         // the point's workload options, checked, defaults included
  std::string file_dir;                              // where files go (empty: /dev/shm)
  std::map<std::string, std::string> program_paths;  // each of programs() -> the absolute path found
  // Filled by Prepare for Commands and Parse: the peer's own directory for the trial, and
  // the sizes of the files it serves, in the order its client asks for them.
  std::string work_dir;
  std::vector<uint64_t> file_sizes;
};

// What a trial record writes for `work_dir` in the peer's command lines.
inline constexpr char kWorkDirPlaceholder[] = "$WORK_DIR";

// What a peer made for one trial before its server starts (a configuration file, the
// files it serves), removed when this object is destroyed.
class PeerPreparation {
 public:
  virtual ~PeerPreparation() = default;
  // What the record says of it (metrics.peer.prepared): the file set, the versions.
  virtual nlohmann::json Report() const = 0;
  // The tools' versions, when the peer's output does not state them ("" when unknown).
  virtual std::string version() const { return ""; }
};

// The two programs of a trial, argument vectors (never a shell). argv[0] is the program's
// name; the runner replaces it with the absolute path it found.
struct PeerCommands {
  std::vector<std::string> server;
  std::vector<std::string> client;
  // The seconds the client really runs (a tool may round the duration, or spend part of
  // it on a warm-up that its figures leave out), for the time bound.
  double client_run_s = 0;
};

// Round-trip latency in microseconds, converted to request_response's terms.
struct PeerLatency {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, mean = 0, min = 0, max = 0;
  uint64_t observations = 0;
};

// What the peer's own output says about the trial.
struct PeerFigures {
  double goodput_bps = 0;
  uint64_t bytes = 0;          // the bytes its figure counts (0: it reports a rate only)
  double elapsed_s = 0;        // the interval its figures cover, by its own clock
  std::string goodput_source;  // where goodput_bps comes from, in the tool's words
  std::optional<uint64_t> transactions;
  std::optional<double> transactions_per_s;
  std::optional<PeerLatency> latency_us;
  std::string latency_source;                        // what latency_us measures and how it was converted
  nlohmann::json parsed = nlohmann::json::object();  // the fields read, as the tool named them
  std::string version;                               // as the tool's output states it ("" when it does not)
};

class PeerTool {
 public:
  virtual ~PeerTool() = default;

  // The matrix entry ("iperf3_zerocopy"): a point's strategy coordinate.
  virtual std::string name() const = 0;
  // The figures' series label ("iperf3 -Z (peer)").
  virtual std::string label() const = 0;
  virtual std::string summary() const = 0;
  // The programs it runs (looked up on PATH or in --peer-dir), and the Debian package.
  virtual std::vector<std::string> programs() const = 0;
  virtual std::string package() const = 0;
  virtual PeerCapabilities capabilities() const = 0;

  // Makes what the trial needs before its server starts (runs after the port is chosen);
  // may fill `invocation`'s work_dir and file_sizes. Null: the peer needs nothing made.
  virtual Result<std::unique_ptr<PeerPreparation>> Prepare(PeerInvocation& invocation) const {
    (void)invocation;
    return std::unique_ptr<PeerPreparation>();
  }

  virtual PeerCommands Commands(const PeerInvocation& invocation) const = 0;
  // Reads the client's output (stdout); `invocation` for what the tool does not repeat
  // (the message size). An error quotes what was missing.
  virtual Result<PeerFigures> Parse(const std::string& client_output, const PeerInvocation& invocation) const = 0;
};

}  // namespace zcb
