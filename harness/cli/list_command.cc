// zcbench list strategies | paths | workloads; zcbench help STRATEGY | PATH | WORKLOAD | COMMAND | probes | parameters.

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/network_path.h"
#include "harness/cli/commands.h"
#include "harness/peers/peer_registry.h"
#include "harness/plan/parameters.h"
#include "harness/probes/probe_suite.h"
#include "stack/registry.h"
#include "stack/socket_options.h"
#include "workloads/registry.h"

namespace zcb::cli {
namespace {

std::string Protocols(const StrategyInfo& info) {
  std::string out;
  for (Protocol p : AllProtocols()) {
    if (info.Speaks(p)) out += fmt::format("{}{}", out.empty() ? "" : ",", ToString(p));
  }
  return out;
}

std::string Sources(const std::vector<SourceKind>& sources) {
  std::string out;
  for (SourceKind s : sources) out += fmt::format("{}{}", out.empty() ? "" : ",", ToString(s));
  return out;
}

std::string Sources(const StrategyInfo& info) { return Sources(info.caps.sources); }

std::string Protocols(const WorkloadInfo& info) {
  std::string out;
  for (Protocol p : AllProtocols()) {
    if (info.needs.protocols.Has(p)) out += fmt::format("{}{}", out.empty() ? "" : ",", ToString(p));
  }
  return out;
}

int ListStrategies() {
  fmt::print("{:<18} {:<8} {:<24} {:<10} {}\n", "name", "proto", "sources", "available", "summary");
  for (const auto& info : AllStrategies()) {
    const Availability& a = ProbeAvailability(info);
    fmt::print("{:<18} {:<8} {:<24} {:<10} {}\n", info.name, Protocols(info), Sources(info), a.available ? "yes" : "no",
               info.summary);
    if (!a.available) fmt::print("{:<18} unavailable: {}\n", "", a.reason);
  }
  return kExitOk;
}

// `peer_dir`: --peer-dir, where a run would look for the peers' programs before PATH.
int ListPeers(const std::string& peer_dir) {
  fmt::print("{:<18} {:<8} {:<18} {:<10} {:<10} {}\n", "name", "proto", "workloads", "max size", "available",
             "summary");
  for (const auto& peer : Peers()) {
    const StrategyInfo& info = PeerStrategyInfo(*peer);
    const Availability a = PeerAvailability(*peer, peer_dir);
    const PeerCapabilities caps = peer->capabilities();
    fmt::print("{:<18} {:<8} {:<18} {:<10} {:<10} {}\n", peer->name(), Protocols(info), fmt::join(caps.workloads, ","),
               caps.max_message_size, a.available ? "yes" : "no", peer->summary());
    if (!a.available) fmt::print("{:<18} unavailable: {}\n", "", a.reason);
  }
  return kExitOk;
}

int ListPaths() {
  fmt::print("{:<10} {:<6} {}\n", "name", "root", "summary");
  for (const auto& info : AllPaths())
    fmt::print("{:<10} {:<6} {}\n", info.name, info.caps.needs_root ? "yes" : "no", info.summary);
  return kExitOk;
}

int ListWorkloads() {
  fmt::print("{:<18} {:<8} {:<24} {}\n", "name", "proto", "sources", "summary");
  for (const auto& info : AllWorkloads()) {
    fmt::print("{:<18} {:<8} {:<24} {}\n", info.name, Protocols(info), Sources(info.needs.sources), info.summary);
  }
  return kExitOk;
}

// `flag`: the run flag that sets them ("--option", "--workload-option").
void PrintOptions(const std::vector<OptionSpec>& options, std::string_view flag) {
  if (options.empty()) {
    fmt::print("Options: none\n");
    return;
  }
  fmt::print("Options ({} key=value):\n", flag);
  for (const auto& o : options) {
    std::string type(ToString(o.type));
    if (o.type == OptionType::kChoice) {
      type.clear();
      for (const auto& c : o.choices) type += (type.empty() ? "" : "|") + c;
    }
    fmt::print("  {:<16} {:<14} default {:<8} {}\n", o.name, type, o.default_value, o.help);
  }
}

}  // namespace

Command AddListCommand(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "list", "list strategies or peers (with their availability on this machine), paths or workloads");
  auto what = std::make_shared<std::string>("strategies");
  sub->add_option("what", *what, "strategies | peers | paths | workloads")
      ->check(CLI::IsMember({"strategies", "peers", "paths", "workloads"}));
  auto peer_dir = std::make_shared<std::string>();
  sub->add_option("--peer-dir", *peer_dir,
                  "peers: look for their programs in DIR before PATH, as `zcbench run --peer-dir DIR` does")
      ->check(CLI::ExistingDirectory);
  return [what, peer_dir] {
    if (!peer_dir->empty() && *what != "peers") {
      fmt::print(stderr, "zcbench list: --peer-dir applies to `zcbench list peers` only, not to {}\n", *what);
      return kExitUsage;
    }
    if (*what == "paths") return ListPaths();
    if (*what == "workloads") return ListWorkloads();
    if (*what == "peers") return ListPeers(*peer_dir);
    return ListStrategies();
  };
}

namespace {

int DescribeStrategy(const StrategyInfo& s) {
  const Availability& a = ProbeAvailability(s);
  fmt::print("{}: {}\n", s.name, s.summary);
  fmt::print("Protocols: {}\nSources: {} (default {})\n", Protocols(s), Sources(s), ToString(s.DefaultSource()));
  fmt::print("Lends buffers to the kernel until a completion: {}\n", s.caps.lends_buffers ? "yes" : "no");
  fmt::print("Reports zero-copy vs copied completions: {}\n", s.caps.reports_zerocopy ? "yes" : "no");
  fmt::print("Available here: {}\n", a.available ? "yes" : "no, " + a.reason);
  PrintOptions(s.options, "--option");
  return kExitOk;
}

int DescribePath(const PathInfo& p) {
  fmt::print("path {}: {}\n", p.name, p.summary);
  fmt::print("Needs root: {}\nEthernet link layer: {}\nReceiver on another host: {}\n",
             p.caps.needs_root ? "yes" : "no", p.caps.has_link_layer ? "yes" : "no",
             p.caps.remote_receiver ? "yes" : "no");
  fmt::print("Receiver: {}\n",
             p.caps.has_receiver ? "yes" : "none: every packet is dropped before delivery and counted (UDP only)");
  if (p.options.empty()) {
    fmt::print("Options: none\n");
    return kExitOk;
  }
  fmt::print("Options (--path-option key=value):\n");
  for (const auto& o : p.options) fmt::print("  {:<16} default {:<10} {}\n", o.name, o.default_value, o.help);
  return kExitOk;
}

int DescribeWorkload(const WorkloadInfo& w) {
  fmt::print("workload {}: {}\n", w.name, w.summary);
  fmt::print("Protocols: {}\nSources: {}\n", Protocols(w), Sources(w.needs.sources));
  fmt::print("Receiver knows message boundaries: {}\n",
             w.needs.message_boundaries ? "yes" : "no (one verified stream or flow)");
  // What the receiver checks, as the workload says with its default options.
  auto defaults = w.ParseOptions({});
  auto made = defaults.ok() ? w.create(*defaults) : Result<std::unique_ptr<Workload>>(std::move(defaults).error());
  fmt::print("Expects at the receiver: {}\n",
             made.ok() ? std::string(ToString((*made)->expectation())) : "unknown (" + made.error().ToString() + ")");
  std::string served;
  for (const auto& s : AllStrategies()) {
    const bool serves =
        std::any_of(s.caps.sources.begin(), s.caps.sources.end(), [&](SourceKind k) { return w.Serves(s, k); });
    if (serves) served += (served.empty() ? "" : ", ") + s.name;
  }
  fmt::print("Strategies that can serve it: {}\n", served.empty() ? "none" : served);
  PrintOptions(w.options, "--workload-option");
  return kExitOk;
}

}  // namespace

Command AddHelpCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("help", "describe a strategy, a path or a command (its options)");
  auto name = std::make_shared<std::string>();
  sub->add_option("name", *name,
                  "a strategy (zcbench list strategies), a path (zcbench list paths), a workload (zcbench list "
                  "workloads), a command, probes (the probe "
                  "families and eBPF groups, their defaults and costs), parameters (the trial parameters: their "
                  "flags, spec keys, defaults and where they apply), or socket_options (--socket-option's keys)")
      ->required();
  return [name, &app] {
    if (*name == "probes") {
      fmt::print("{}", ProbeHelp());
      return kExitOk;
    }
    if (*name == "parameters") {
      fmt::print("{}", ParameterHelp());
      return kExitOk;
    }
    if (*name == "socket_options") {
      fmt::print("{}", SocketOptionHelp());
      return kExitOk;
    }
    if (auto info = FindStrategy(*name); info.ok()) return DescribeStrategy(**info);
    if (auto path = FindPath(*name); path.ok()) return DescribePath(**path);
    if (auto workload = FindWorkload(*name); workload.ok()) return DescribeWorkload(**workload);
    for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
      if (command->get_name() == *name) {
        fmt::print("{}", command->help());
        return kExitOk;
      }
    }
    std::string strategies, paths;
    for (const auto& s : AllStrategies()) strategies += (strategies.empty() ? "" : ", ") + s.name;
    for (const auto& p : AllPaths()) paths += (paths.empty() ? "" : ", ") + p.name;
    fmt::print(
        stderr,
        "zcbench help: '{}' is not a strategy ({}), a path ({}), a workload ({}), a command (zcbench --help), probes, "
        "parameters or socket_options\n",
        *name, strategies, paths, fmt::join(WorkloadNames(), ", "));
    return kExitUsage;
  };
}

}  // namespace zcb::cli
