#pragma once

// Experiment specs: TOML files (workloads/experiments/*.toml) describing a matrix of
// trials, how each trial runs, how often each point is repeated, and the network paths.
// A spec is checked completely before anything runs; every problem is reported with the
// file, the line and the key ("quick.toml:12: matrix.message_size: ..."), all of them at
// once, the way a compiler lists errors.
//
//   [experiment]  name, description, seed
//   [matrix]      the axes: each a parameter of the table (harness/plan/parameters.cc, or
//                 `zcbench help parameters`), one value or a list; "all" strategies;
//                 [matrix.strategy_options], [matrix.path_options],
//                 [matrix.workload_options] and [matrix.socket_options]: one axis per option
//   [[exclude]]   rules: axis = value or [values], all must match; optional reason
//   [trial]       one value for every point: the [trial] parameters of the table
//   [repeat]      min, max, confidence_pct, half_width_pct (netperf -I: stop when the
//                 confidence interval of goodput and of CPU per KiB is within
//                 mean +- half_width_pct, or at max)
//   [path.NAME]   a named path: type (a registered path; default NAME) and its options

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/network_path.h"
#include "harness/probes/cpu_profile_probe.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "workloads/workload.h"

namespace zcb {

// What a spec is checked against: the registered strategies, paths and workloads.
// Tests build their own to exercise capability filtering without the real registry.
struct SpecCatalog {
  std::vector<StrategyInfo> strategies;
  std::vector<PathInfo> paths;
  std::vector<WorkloadInfo> workloads;

  // The strategies, paths and workloads this binary was built with.
  static const SpecCatalog& Registered();

  const StrategyInfo* FindStrategy(std::string_view name) const;
  const PathInfo* FindPath(std::string_view name) const;
  const WorkloadInfo* FindWorkload(std::string_view name) const;
  std::string StrategyNames() const;  // "write, writev, ..." for error messages
  std::string PathNames() const;
  std::string WorkloadNames() const;
};

// The matrix axes, in the order points are expanded (the first varies slowest).
enum class AxisKind {
  kProtocol,
  kStrategy,
  kPeers,
  kSource,
  kMessageSize,
  kPath,
  kReceiver,
  kWorkload,
  kRate,
  kCache,
  kSenderCpuQuota,
  kMembwAntagonist,
  kMembwLimit,
  kSiblings,
  kStreams,
  kStrategyOption,
  kPathOption,
  kWorkloadOption,
  kSocketOption,
};

// The spec key of an axis kind ("message_size"); options are "strategy_options.NAME".
std::string_view AxisKeyName(AxisKind kind);

// One axis. Values are canonical text, so that "64K" and 65536 are one value: sizes and
// rates as decimal digits, booleans as true/false, names as written.
struct SpecAxis {
  AxisKind kind;
  std::string key;     // "message_size", "strategy_options.header"
  std::string option;  // the option name for option axes
  std::vector<std::string> values;
  int line = 0;
};

// A [path.NAME] table: a registered path type with fixed options, under a new name.
struct PathDefinition {
  std::string name;
  std::string type;
  std::map<std::string, std::string> options;
  int line = 0;
};

// An [[exclude]] rule: a point is excluded when every key matches one of its values.
struct ExcludeRule {
  std::map<std::string, std::set<std::string>> match;  // axis key -> canonical values
  std::string reason;
  int line = 0;
};

struct TrialSettings {
  std::optional<double> duration_s;
  std::optional<uint64_t> bytes;
  int warmup = 0;  // warm-up trials per point, recorded with warmup: true
  std::optional<double> warmup_duration_s;
  std::optional<uint64_t> warmup_bytes;
  bool pin = true;                // pin sender and receiver (default CPUs 0 and 1 where there are two)
  std::optional<int> sender_cpu;  // -1: not pinned (the other side keeps its default)
  std::optional<int> receiver_cpu;
  // The [trial] parameters that set a field of each trial (those with Parameter::apply:
  // receive_timeout, pattern_period, working_set, file_dir, udp_gro, drain, ...), by key,
  // as canonical text; ApplyTrialSettings applies them through the table.
  std::map<std::string, std::string> per_trial;
  // The window probes: "default", "all", "none" or a comma list (ParseProbeSelection).
  std::string probes = "default";
  int profile_hz = CpuProfileOptions{}.frequency_hz;  // the CPU profile's samples per second per CPU
  bool membw_probe = false;                           // co-run the memory-bandwidth probe
  std::optional<int> membw_probe_cpu;
};

struct RepeatSettings {
  int min = 3;
  int max = 10;
  double confidence_pct = 95;
  double half_width_pct = 2.5;
};

struct ExperimentSpec {
  std::string file;  // as given (for messages and the manifest)
  std::string text;  // the file's bytes, recorded in the manifest
  std::string sha256;
  std::string name;
  std::string description;
  std::optional<uint64_t> seed;  // absent: the run draws one and records it
  std::vector<SpecAxis> axes;    // in AxisKind order, options sorted by name
  std::vector<PathDefinition> paths;
  std::vector<ExcludeRule> excludes;
  TrialSettings trial;
  RepeatSettings repeat;
  int matrix_line = 0;

  const SpecAxis* FindAxis(AxisKind kind) const;
  // The location prefix for messages about the spec as a whole: "quick.toml:3".
  std::string Where(int line) const;
};

// Parses and checks a spec. `file` names it in messages. On failure the Error lists every
// problem, one per line, each "FILE:LINE: KEY: what is wrong".
Result<ExperimentSpec> ParseSpec(std::string_view text, const std::string& file, const SpecCatalog& catalog);
Result<ExperimentSpec> LoadSpecFile(const std::string& path, const SpecCatalog& catalog);

// "2s", "500ms", "1.5", "2m" -> seconds. Bare numbers are seconds.
std::optional<double> ParseDuration(std::string_view text);

std::string Sha256Hex(std::string_view data);

}  // namespace zcb
