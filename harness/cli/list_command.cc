// zcbench list strategies | paths; zcbench help STRATEGY.

#include <fmt/format.h>

#include "drivers/network_path.h"
#include "harness/cli/commands.h"
#include "stack/registry.h"

namespace zcb::cli {
namespace {

std::string Protocols(const StrategyInfo& info) {
  std::string out;
  for (Protocol p : AllProtocols()) {
    if (info.Speaks(p)) out += fmt::format("{}{}", out.empty() ? "" : ",", ToString(p));
  }
  return out;
}

std::string Sources(const StrategyInfo& info) {
  std::string out;
  for (SourceKind s : info.caps.sources) out += fmt::format("{}{}", out.empty() ? "" : ",", ToString(s));
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

int ListPaths() {
  fmt::print("{:<10} {:<6} {}\n", "name", "root", "summary");
  for (const auto& info : AllPaths()) fmt::print("{:<10} {:<6} {}\n", info.name, info.caps.needs_root ? "yes" : "no", info.summary);
  return kExitOk;
}

void PrintOptions(const std::vector<OptionSpec>& options) {
  if (options.empty()) {
    fmt::print("Options: none\n");
    return;
  }
  fmt::print("Options (--option key=value):\n");
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
  auto* sub = app.add_subcommand("list", "list strategies or paths with their availability on this machine");
  auto what = std::make_shared<std::string>("strategies");
  sub->add_option("what", *what, "strategies | paths")->check(CLI::IsMember({"strategies", "paths"}));
  return [what] { return *what == "paths" ? ListPaths() : ListStrategies(); };
}

Command AddHelpCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("help", "describe one strategy and its options");
  auto name = std::make_shared<std::string>();
  sub->add_option("strategy", *name, "strategy name (see zcbench list strategies)")->required();
  return [name] {
    auto info = FindStrategy(*name);
    if (!info.ok()) {
      fmt::print(stderr, "zcbench help: {}\n", info.error().ToString());
      return kExitUsage;
    }
    const StrategyInfo& s = **info;
    const Availability& a = ProbeAvailability(s);
    fmt::print("{}: {}\n", s.name, s.summary);
    fmt::print("Protocols: {}\nSources: {} (default {})\n", Protocols(s), Sources(s), ToString(s.DefaultSource()));
    fmt::print("Lends buffers to the kernel until a completion: {}\n", s.caps.lends_buffers ? "yes" : "no");
    fmt::print("Reports zero-copy vs copied completions: {}\n", s.caps.reports_zerocopy ? "yes" : "no");
    fmt::print("Available here: {}\n", a.available ? "yes" : "no, " + a.reason);
    PrintOptions(s.options);
    return kExitOk;
  };
}

}  // namespace zcb::cli
