// zcbench: the command-line entry point.

#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "harness/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"zcbench: measure zero-copy TCP and UDP send strategies on Linux"};
  app.require_subcommand(1);
  const std::vector<std::pair<std::string, zcb::cli::Command>> commands = {
      {"run", zcb::cli::AddRunCommand(app)},         {"list", zcb::cli::AddListCommand(app)},
      {"help", zcb::cli::AddHelpCommand(app)},       {"report", zcb::cli::AddReportCommand(app)},
      {"compare", zcb::cli::AddCompareCommand(app)}, {"serve", zcb::cli::AddServeCommand(app)},
      {"cleanup", zcb::cli::AddCleanupCommand(app)}, {"doctor", zcb::cli::AddDoctorCommand(app)},
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return zcb::cli::kExitUsage;
  }
  for (const auto& [name, command] : commands) {
    if (app.got_subcommand(name)) return command();
  }
  return zcb::cli::kExitUsage;
}
