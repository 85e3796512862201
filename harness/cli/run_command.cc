// zcbench run: one trial per strategy given (a comma list, or `all`), printed as a table
// or as JSON records (--json, one per line).

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "drivers/host_constraints.h"
#include "drivers/live_objects.h"
#include "harness/cli/commands.h"
#include "harness/cli/run_spec.h"
#include "harness/probes/probe_suite.h"
#include "harness/summary_table.h"
#include "harness/trial.h"
#include "stack/registry.h"

namespace zcb::cli {
namespace {

struct RunArgs {
  std::string protocol = "tcp";
  std::string strategies;
  std::string source;
  std::string size;  // empty: the protocol's default (DefaultMessageSize)
  std::optional<double> duration;
  std::string bytes;
  std::string receiver = "verify";
  std::optional<int> sender_cpu, receiver_cpu;
  uint64_t seed = 1;
  std::string rate;
  bool gro = false;
  std::optional<double> drain;
  std::vector<std::string> options;
  std::string path = "loopback";
  std::vector<std::string> path_options;
  std::string file_dir;
  std::string cache = "warm";
  std::string pattern_period = "256K";
  std::string working_set;  // empty: the default (several times the last-level cache)
  bool json = false;
  std::string peer, token_file;                                           // --path remote
  std::string sender_cpu_quota, membw_antagonist, membw_antagonist_size;  // host constraints
  bool clean = false;
  std::string probes = "default";                                         // probe families and eBPF groups
  bool membw_probe = false;
  std::optional<int> membw_probe_cpu;
  int profile_hz = ProbeOptions{}.cpu_profile_hz;
};

Result<std::map<std::string, std::string>> ParseKeyValues(const std::vector<std::string>& items, const char* flag) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Errorf("{} {}: expected key=value", flag, item);
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

// Turns the command line into one TrialSpec per strategy; every error is a usage error.
Result<std::vector<ResolvedTrial>> BuildTrials(const RunArgs& a) {
  TrialSpec spec;
  auto protocol = ParseProtocol(a.protocol);
  if (!protocol) return Errorf("--protocol {}: expected tcp or udp", a.protocol);
  spec.protocol = *protocol;
  if (!a.source.empty()) {
    auto source = ParseSourceKind(a.source);
    if (!source) return Errorf("--source {}: expected memory, file or generated", a.source);
    spec.source = *source;
  }
  if (a.size.empty()) {
    spec.message_size = DefaultMessageSize(spec.protocol);
  } else {
    auto size = ParseSize(a.size);
    if (!size) return Errorf("--size {}: expected a size such as 1, 4095, 64K or 1M", a.size);
    spec.message_size = *size;
  }
  spec.duration_s = a.duration;
  if (!a.bytes.empty()) {
    auto bytes = ParseSize(a.bytes);
    if (!bytes) return Errorf("--bytes {}: expected a byte count such as 1000000 or 64M", a.bytes);
    spec.bytes = *bytes;
  }
  auto receiver = ParseReceiverMode(a.receiver);
  if (!receiver) return Errorf("--receiver {}: expected verify, read, discard or zerocopy", a.receiver);
  spec.receiver = *receiver;
  auto pin = [](std::optional<int> cpu) { return cpu && *cpu < 0 ? std::nullopt : cpu; };
  spec.sender_cpu = a.sender_cpu;
  spec.receiver_cpu = a.receiver_cpu;
  ApplyDefaultPinning(spec);
  if (a.sender_cpu) spec.sender_cpu = pin(a.sender_cpu);
  if (a.receiver_cpu) spec.receiver_cpu = pin(a.receiver_cpu);
  spec.seed = a.seed;
  if (!a.rate.empty()) {
    auto rate = ParseRate(a.rate);
    if (!rate || *rate == 0) return Errorf("--rate {}: expected bits per second such as 500M or 1G", a.rate);
    spec.rate_bps = *rate;
  }
  spec.gro = a.gro;
  if (a.drain) spec.drain_s = *a.drain;
  ZCB_ASSIGN_OR_RETURN(spec.options, ParseKeyValues(a.options, "--option"));
  spec.path = a.path;
  ZCB_ASSIGN_OR_RETURN(spec.path_options, ParseKeyValues(a.path_options, "--path-option"));
  if (!a.peer.empty()) spec.path_options["peer"] = a.peer;
  if (!a.token_file.empty()) spec.path_options["token_file"] = a.token_file;
  if (!a.sender_cpu_quota.empty()) {
    auto quota = ParseCpuQuota(a.sender_cpu_quota);
    if (!quota) return Errorf("--sender-cpu-quota {}: expected a share of one CPU such as 20% or 0.2", a.sender_cpu_quota);
    spec.constraints.sender_cpu_quota = *quota;
  }
  if (!a.membw_antagonist.empty()) {
    auto cpus = ParseCpuList(a.membw_antagonist);
    if (!cpus) return Errorf("--membw-antagonist {}: expected CPUs such as 1, 0,1 or 0-3", a.membw_antagonist);
    spec.constraints.membw_cpus = *cpus;
  }
  if (!a.membw_antagonist_size.empty()) {
    auto size = ParseSize(a.membw_antagonist_size);
    if (!size) return Errorf("--membw-antagonist-size {}: expected a size such as 64M", a.membw_antagonist_size);
    spec.constraints.membw_buffer_bytes = *size;
  }
  spec.file_dir = a.file_dir;
  if (a.cache != "warm" && a.cache != "cold") return Errorf("--cache {}: expected warm or cold", a.cache);
  spec.cold_cache = a.cache == "cold";
  auto period = ParseSize(a.pattern_period);
  if (!period) return Errorf("--pattern-period {}: expected a size such as 256K", a.pattern_period);
  spec.pattern_period = *period;
  if (!a.working_set.empty()) {
    auto size = ParseSize(a.working_set);
    if (!size) return Errorf("--working-set {}: expected a size such as 256K or 1G", a.working_set);
    spec.working_set = *size;
  }

  std::vector<std::string> names;
  if (a.strategies == "all") {
    for (const auto& info : AllStrategies()) {
      if (info.Speaks(spec.protocol) && (!spec.source || info.CanSend(*spec.source))) names.push_back(info.name);
    }
  } else {
    for (size_t start = 0; start <= a.strategies.size();) {
      size_t comma = a.strategies.find(',', start);
      if (comma == std::string::npos) comma = a.strategies.size();
      if (comma > start) names.push_back(a.strategies.substr(start, comma - start));
      start = comma + 1;
    }
  }
  if (names.empty()) return Errorf("--strategy: no strategy given (see zcbench list strategies)");
  std::vector<ResolvedTrial> trials;
  for (const auto& name : names) {
    spec.strategy = name;
    ZCB_ASSIGN_OR_RETURN(ResolvedTrial trial, ResolveTrial(spec));
    trials.push_back(std::move(trial));
  }
  return trials;
}

int Run(const RunArgs& args) {
  auto trials = BuildTrials(args);
  if (!trials.ok()) {
    fmt::print(stderr, "zcbench run: {}\n", trials.error().ToString());
    return kExitUsage;
  }
  auto probe_options = ParseProbeSelection(args.probes);
  if (!probe_options.ok()) {
    fmt::print(stderr, "zcbench run: {}\n", probe_options.error().ToString());
    return kExitUsage;
  }
  probe_options->membw_probe = args.membw_probe;
  probe_options->membw_cpu = args.membw_probe_cpu;
  probe_options->cpu_profile_hz = args.profile_hz;
  for (const auto& trial : *trials) {
    for (std::optional<int> cpu : {trial.spec.sender_cpu, trial.spec.receiver_cpu}) {
      if (cpu) probe_options->trial_cpus.push_back(*cpu);
    }
  }
  auto probes = ProbeSuite::Open(*probe_options);  // loaded once, measured per trial window
  if (!probes.ok()) {
    fmt::print(stderr, "zcbench run: {}\n", probes.error().ToString());
    return kExitUsage;
  }
  InstallCleanupSignalHandlers();  // Ctrl-C removes the namespaces and cgroups of the trial in progress
  HandleLeftoversAtRunStart(args.clean);
  std::vector<nlohmann::json> records;
  int failed = 0, unsupported = 0;
  TrialContext context;
  context.run_id = "adhoc";
  context.probes = probes->probes();
  for (const auto& trial : *trials) {
    nlohmann::json record = RunTrial(trial, context);
    ++context.trial;
    if (record["status"] == "error") ++failed;
    if (record["status"] == "unsupported") ++unsupported;
    if (args.json) {
      fmt::print("{}\n", record.dump());
      std::fflush(stdout);
    }
    records.push_back(std::move(record));
  }
  if (!args.json) fmt::print("{}", FormatSummaryTable(records));
  for (const auto& r : records) {
    if (r["status"] != "ok") fmt::print(stderr, "zcbench run: {} {}: {}\n", r["params"]["strategy"].get<std::string>(),
                                        r["status"].get<std::string>(), r["error"].get<std::string>());
  }
  // A strategy asked for by name that cannot run here is a failure; in a sweep it is a row.
  const bool lone_unsupported = records.size() == 1 && unsupported == 1;
  return failed > 0 || lone_unsupported ? kExitFailed : kExitOk;
}

}  // namespace

Command AddRunCommand(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* sub = app.add_subcommand("run", "run one trial per strategy over a network path");
  sub->add_option("--protocol", args->protocol, "tcp or udp")->capture_default_str();
  sub->add_option("--strategy,-s", args->strategies, "strategy, comma list of strategies, or 'all' (zcbench list strategies)");
  sub->add_option("--source", args->source, "payload source: memory, file or generated (default: the strategy's first)");
  sub->add_option("--size,-l", args->size,
                  "message size per send, with K/M/G suffixes (default 64K for TCP; for UDP 1472, the datagram size)");
  sub->add_option("--duration,-t", args->duration, "seconds to send for");
  sub->add_option("--bytes,-n", args->bytes, "send exactly this many bytes (K/M/G suffixes)");
  sub->add_option("--receiver", args->receiver, "verify, read, discard or zerocopy (TCP_ZEROCOPY_RECEIVE)")->capture_default_str();
  sub->add_option("--sender-cpu", args->sender_cpu, "CPU to pin the sender to (-1: none; default 0 with 2+ CPUs)");
  sub->add_option("--receiver-cpu", args->receiver_cpu, "CPU to pin the receiver to (-1: none; default 1 with 2+ CPUs)");
  sub->add_option("--seed", args->seed, "payload pattern seed")->capture_default_str();
  sub->add_option("--rate,-b", args->rate, "target rate in bits per second with K/M/G suffixes (default: unpaced)");
  sub->add_option("--option,-o", args->options, "strategy option key=value (zcbench help STRATEGY)");
  sub->add_option("--path", args->path, "network path (zcbench list paths)")->capture_default_str();
  sub->add_option("--path-option", args->path_options, "path option key=value");
  sub->add_option("--file-dir", args->file_dir, "file source: directory for the payload file (default: tmpfs)");
  sub->add_option("--cache", args->cache, "file source page cache: warm or cold (cold needs --file-dir on disk)")->capture_default_str();
  sub->add_option("--pattern-period", args->pattern_period, "payload pattern period (a multiple of 4K)")->capture_default_str();
  sub->add_option("--working-set", args->working_set,
                  "memory and file sources: bytes the sends cycle through (default: 4 times the last-level cache, so that "
                  "they read from DRAM; e.g. 256K for a cache-resident buffer)");
  sub->add_flag("--gro", args->gro, "UDP: the receiver asks for UDP_GRO (coalesced datagrams, split and checked one by one)");
  sub->add_option("--drain", args->drain, "UDP: seconds the receiver waits for stragglers after the sender is done (default 0.5)");
  sub->add_flag("--json", args->json, "print exactly the trial records (one JSON object per line) on stdout");
  sub->add_option("--peer", args->peer, "--path remote: HOST:PORT where zcbench serve listens");
  sub->add_option("--token-file", args->token_file, "--path remote: file with the token shared with zcbench serve");
  sub->add_option("--sender-cpu-quota", args->sender_cpu_quota, "limit the sender thread to this share of one CPU (cgroup), e.g. 20%");
  sub->add_option("--membw-antagonist", args->membw_antagonist, "stream memory on these CPUs during the trial, e.g. 1 or 0,1");
  sub->add_option("--membw-antagonist-size", args->membw_antagonist_size, "memory per antagonist thread (default 64M)");
  sub->add_flag("--clean", args->clean, "first remove what killed runs left behind (see zcbench cleanup)");
  sub->add_option("--probes", args->probes, "measurement probes: default, all, none, or a comma list of ebpf, counters, memory, profile, bpf_stats and eBPF groups (zcbench help probes)")
      ->capture_default_str();
  sub->add_flag("--membw-probe", args->membw_probe, "co-run a memory-bandwidth probe on a spare CPU (metrics.memory.bandwidth_probe)");
  sub->add_option("--membw-probe-cpu", args->membw_probe_cpu, "CPU for --membw-probe (default: one the trial does not use)");
  sub->add_option("--profile-hz", args->profile_hz, "CPU profile samples per second per CPU (metrics.cpu_profile)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  // An experiment spec instead of -s: the matrix flow (harness/cli/run_spec.cc).
  auto spec_args = std::make_shared<SpecRunArgs>();
  sub->add_option("spec", spec_args->spec_path, "experiment spec (TOML, e.g. workloads/experiments/quick.toml) instead of -s");
  sub->add_option("--out", spec_args->out, "spec runs: the run folder to create (default: results/<run_id>/)");
  sub->add_flag("--dry-run", spec_args->dry_run, "spec runs: print the plan (points, trials, estimated time) and exit");
  sub->add_option("--resume", spec_args->resume, "spec runs: continue the interrupted run in this folder");
  sub->add_flag("--fail-fast", spec_args->fail_fast, "spec runs: stop at the first failed trial");
  sub->add_flag("--quick", spec_args->quick, "spec runs: one short repetition per point, no warm-up (a smoke test)");
  return [args, spec_args] {
    if (spec_args->spec_path.empty() && spec_args->resume.empty()) return Run(*args);
    if (!args->strategies.empty()) {
      fmt::print(stderr, "zcbench run: give either an experiment spec or --strategy, not both\n");
      return kExitUsage;
    }
    spec_args->clean = args->clean;
    return RunSpec(*spec_args);
  };
}

}  // namespace zcb::cli
