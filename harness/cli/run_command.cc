// zcbench run: one trial per strategy given (a comma list, or `all`), printed as a table
// or as JSON records (--json, one per line); or an experiment spec (run_spec.cc); or a
// folder of specs, a pack (run_pack.cc).
//
// The trial flags are not written here: each comes from the parameter table
// (harness/plan/parameters.cc), with its help, default and parser. The command line becomes
// a plan of one point per strategy, run through the same path as a spec's.

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/cli/commands.h"
#include "harness/cli/run_pack.h"
#include "harness/cli/run_spec.h"
#include "harness/plan/matrix.h"
#include "harness/plan/parameters.h"
#include "harness/plan/run_plan.h"
#include "stack/registry.h"

namespace zcb::cli {
namespace {

// What the command line gave for the parameters, as text, before parsing.
struct ParameterArgs {
  struct Given {
    const Parameter* parameter = nullptr;
    CLI::Option* option = nullptr;
    std::string text;                 // one value
    std::vector<std::string> values;  // key=value parameters: every occurrence
    bool flag = false;                // boolean parameters
  };
  // Stable addresses: CLI11 writes into them.
  std::vector<std::unique_ptr<Given>> given;
};

// "--size" of "--size,-l": the flag the messages name.
std::string FlagName(const Parameter& parameter) {
  const std::string_view flags = parameter.flags;
  return std::string(flags.substr(0, flags.find(',')));
}

// Registers one CLI11 option per parameter of the table that has flags.
void AddParameterOptions(CLI::App& sub, ParameterArgs& args) {
  for (const Parameter& parameter : Parameters()) {
    if (parameter.flags.empty()) continue;
    auto given = std::make_unique<ParameterArgs::Given>();
    given->parameter = &parameter;
    std::string help(parameter.help);
    if (const std::string where = parameter.applies.Describe(); !where.empty()) help = where + ": " + help;
    const std::string flags(parameter.flags);
    if (parameter.kind == ValueKind::kBool) {
      given->option = sub.add_flag(flags, given->flag, help);
    } else if (parameter.kind == ValueKind::kKeyValues) {
      given->option = sub.add_option(flags, given->values, help);
    } else {
      given->option = sub.add_option(flags, given->text, help);
      if (!parameter.default_text.empty()) given->option->default_str(std::string(parameter.default_text));
    }
    args.given.push_back(std::move(given));
  }
}

// The strategies named by --strategy: a comma list, or `all` (those that speak the
// protocol and send from the source, when one is given).
Result<std::vector<std::string>> StrategyNames(const std::string& text, const TrialSpec& base) {
  std::vector<std::string> names;
  if (text == "all") {
    for (const auto& info : AllStrategies()) {
      if (info.Speaks(base.protocol) && (!base.source || info.CanSend(*base.source))) names.push_back(info.name);
    }
    return names;
  }
  for (size_t start = 0; start <= text.size();) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) names.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  if (names.empty()) return Usagef("--strategy: no strategy given (see zcbench list strategies)");
  return names;
}

// Turns the command line into a plan of one point per strategy; its errors name the flag.
Result<RunPlan> BuildPlan(const ParameterArgs& args) {
  const SpecCatalog& catalog = SpecCatalog::Registered();
  ExperimentSpec settings;  // the [trial] and [experiment] parameters of the command line
  settings.name = "adhoc";
  TrialSpec base;
  std::string strategies;
  std::map<std::string, bool> axis_given;
  for (const auto& given : args.given) {
    const Parameter& p = *given->parameter;
    if (given->option->count() == 0) continue;
    const std::string flag = FlagName(p);
    std::vector<std::string> texts = p.kind == ValueKind::kKeyValues ? given->values
                                     : p.kind == ValueKind::kBool
                                         ? std::vector<std::string>{given->flag ? "true" : "false"}
                                         : std::vector<std::string>{given->text};
    for (const std::string& text : texts) {
      // The strategy list is split below; each name is checked when its trial is resolved.
      if (p.axis == AxisKind::kStrategy) {
        strategies = text;
        continue;
      }
      auto canonical = p.parse(text, catalog);
      if (!canonical.ok()) return Usagef("{} {}: {}", flag, text, canonical.error().what());
      if (p.kind == ValueKind::kKeyValues) {
        SetOption(p, *canonical, base);
      } else if (!p.shortcut_for.empty()) {
        base.path_options[std::string(p.key)] = *canonical;  // --peer: the path option peer
      } else if (p.section == SpecSection::kTrial && p.apply != nullptr) {
        settings.trial.per_trial[std::string(p.key)] = *canonical;
      } else if (p.apply != nullptr) {
        p.apply(*canonical, base);
        axis_given[std::string(p.key)] = true;
      } else {
        p.set(*canonical, settings);
      }
    }
  }
  ZCB_ASSIGN_OR_RETURN(const std::vector<std::string> names, StrategyNames(strategies, base));
  if (names.empty()) return Usagef("--strategy: no strategy given (see zcbench list strategies)");

  std::vector<TrialSpec> trials;
  for (const auto& name : names) {
    TrialSpec spec = base;
    spec.strategy = name;
    // The axes not given take their defaults for this trial (the strategy's first source,
    // the protocol's message size).
    for (const Parameter* p : ParametersIn(SpecSection::kMatrix)) {
      if (p->apply == nullptr || p->default_for == nullptr || axis_given.count(std::string(p->key)) != 0) continue;
      p->apply(p->default_for(spec, catalog), spec);
    }
    ApplyTrialSettings(settings.trial, spec, /*where_applicable=*/false);
    trials.push_back(std::move(spec));
  }
  const uint64_t seed = settings.seed.value_or(TrialSpec{}.seed);
  return BuildCommandLinePlan(std::move(settings), trials, seed);
}

}  // namespace

Command AddRunCommand(CLI::App& app) {
  auto args = std::make_shared<ParameterArgs>();
  auto output = std::make_shared<CommandLineRunArgs>();
  auto* sub = app.add_subcommand(
      "run", "run one trial per strategy over a network path, an experiment spec, or a pack (a folder of specs)");
  AddParameterOptions(*sub, *args);
  sub->add_flag("--json", output->json, "print exactly the trial records (one JSON object per line) on stdout");
  sub->add_flag("--clean", output->clean, "first remove what killed runs left behind (see zcbench cleanup)");
  sub->footer(
      "The trial flags are the command-line forms of the parameters an experiment spec takes: zcbench help "
      "parameters lists them with their spec keys.");
  // An experiment spec instead of -s: the matrix flow (harness/cli/run_spec.cc).
  auto spec_args = std::make_shared<SpecRunArgs>();
  sub->add_option("spec", spec_args->spec_path,
                  "experiment spec (TOML, e.g. workloads/experiments/quick.toml) instead of -s; a folder of specs "
                  "is a pack (e.g. workloads/experiments/seed/): each runs in turn into its own subfolder");
  sub->add_option(
      "--out", spec_args->out,
      "the run folder to create (spec runs: default results/<run_id>/; with -s: record the trials there too)");
  sub->add_flag("--dry-run", spec_args->dry_run, "spec runs: print the plan (points, trials, estimated time) and exit");
  sub->add_option("--resume", spec_args->resume, "spec runs: continue the interrupted run in this folder");
  sub->add_flag("--fail-fast", spec_args->fail_fast, "spec runs: stop at the first failed trial");
  sub->add_flag("--quick", spec_args->quick, "spec runs: one short repetition per point, no warm-up (a smoke test)");
  return [args, output, spec_args] {
    const bool by_strategy = std::any_of(args->given.begin(), args->given.end(), [](const auto& g) {
      return g->parameter->axis == AxisKind::kStrategy && g->option->count() > 0;
    });
    if (spec_args->spec_path.empty() && spec_args->resume.empty()) {
      auto plan = BuildPlan(*args);
      if (!plan.ok()) return StopOn("run", plan.error());
      output->out = spec_args->out;
      return RunCommandLinePlan(*plan, *output);
    }
    if (by_strategy) {
      return StopOn("run", Usagef("give either an experiment spec or --strategy, not both"));
    }
    spec_args->clean = output->clean;
    const bool pack = spec_args->resume.empty()
                          ? IsPackPath(spec_args->spec_path)
                          : IsPackPath(spec_args->resume) &&
                                std::filesystem::exists(std::filesystem::path(spec_args->resume) / kPackManifestFile);
    return pack ? RunPack(*spec_args) : RunSpec(*spec_args);
  };
}

}  // namespace zcb::cli
