#pragma once

// The zcbench subcommands. Each registers its options on the CLI11 app and returns the
// function that runs it; the function returns the process exit code:
// 0 ok, 1 a trial or check failed, 2 bad usage (3 is compare's "cannot judge", decided by
// the analysis it runs).

#include <cstdio>
#include <functional>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "stack/result.h"

namespace zcb::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

using Command = std::function<int()>;

// The exit code of a command stopped by `error`: its kind decides (a usage error is 2,
// anything else 1), never the place it came from.
inline int ExitCodeFor(const Error& error) { return error.kind() == ErrorKind::kUsage ? kExitUsage : kExitFailed; }

// Prints "zcbench <command>: <error>" on stderr and returns its exit code.
inline int StopOn(std::string_view command, const Error& error) {
  fmt::print(stderr, "zcbench {}: {}\n", command, error.ToString());
  return ExitCodeFor(error);
}

Command AddRunCommand(CLI::App& app);
Command AddListCommand(CLI::App& app);
Command AddHelpCommand(CLI::App& app);
Command AddReportCommand(CLI::App& app);
Command AddCompareCommand(CLI::App& app);
Command AddServeCommand(CLI::App& app);
Command AddCleanupCommand(CLI::App& app);
Command AddDoctorCommand(CLI::App& app);

// At the start of a run: reports the zcb- objects of dead runs on stderr and, with
// `clean`, removes them (cleanup_command.cc).
void HandleLeftoversAtRunStart(bool clean);

}  // namespace zcb::cli
