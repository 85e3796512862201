// zcbench run: one trial per strategy given (a comma list, or `all`), printed as a table
// or as JSON records (--json, one per line).

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/cli/commands.h"
#include "harness/summary_table.h"
#include "harness/trial.h"
#include "stack/registry.h"

namespace zcb::cli {
namespace {

struct RunArgs {
  std::string protocol = "tcp";
  std::string strategies;
  std::string source;
  std::string size = "64K";
  std::optional<double> duration;
  std::string bytes;
  std::string receiver = "verify";
  std::optional<int> sender_cpu, receiver_cpu;
  uint64_t seed = 1;
  std::string rate;
  std::vector<std::string> options;
  std::string path = "loopback";
  std::vector<std::string> path_options;
  std::string file_dir;
  std::string cache = "warm";
  std::string pattern_period = "256K";
  bool json = false;
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
  auto size = ParseSize(a.size);
  if (!size) return Errorf("--size {}: expected a size such as 1, 4095, 64K or 1M", a.size);
  spec.message_size = *size;
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
  ZCB_ASSIGN_OR_RETURN(spec.options, ParseKeyValues(a.options, "--option"));
  spec.path = a.path;
  ZCB_ASSIGN_OR_RETURN(spec.path_options, ParseKeyValues(a.path_options, "--path-option"));
  spec.file_dir = a.file_dir;
  if (a.cache != "warm" && a.cache != "cold") return Errorf("--cache {}: expected warm or cold", a.cache);
  spec.cold_cache = a.cache == "cold";
  auto period = ParseSize(a.pattern_period);
  if (!period) return Errorf("--pattern-period {}: expected a size such as 256K", a.pattern_period);
  spec.pattern_period = *period;

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
  std::vector<nlohmann::json> records;
  int failed = 0, unsupported = 0;
  TrialContext context;
  context.run_id = "adhoc";
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
  sub->add_option("--strategy,-s", args->strategies, "strategy, comma list of strategies, or 'all' (zcbench list strategies)")->required();
  sub->add_option("--source", args->source, "payload source: memory, file or generated (default: the strategy's first)");
  sub->add_option("--size,-l", args->size, "message size per send, with K/M/G suffixes")->capture_default_str();
  sub->add_option("--duration,-t", args->duration, "seconds to send for");
  sub->add_option("--bytes,-n", args->bytes, "send exactly this many bytes (K/M/G suffixes)");
  sub->add_option("--receiver", args->receiver, "verify, read or discard")->capture_default_str();
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
  sub->add_flag("--json", args->json, "print exactly the trial records (one JSON object per line) on stdout");
  return [args] { return Run(*args); };
}

}  // namespace zcb::cli
