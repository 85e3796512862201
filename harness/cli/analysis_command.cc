// zcbench report | compare: hand over to the Python analysis package (analysis/), run
// by the interpreter that has Debian's matplotlib, numpy and scipy.

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/cli/commands.h"

namespace zcb::cli {
namespace {

// The source tree holding analysis/: $ZCBENCH_SOURCE_DIR, else the tree zcbench was
// built from.
std::string SourceDir() {
  if (const char* dir = std::getenv("ZCBENCH_SOURCE_DIR"); dir != nullptr && *dir != '\0') return dir;
  return ZCB_SOURCE_DIR;
}

// Debian's python3-* packages are for /usr/bin/python3; another python3 may come first on
// PATH. $ZCBENCH_PYTHON overrides.
std::string Python() {
  if (const char* py = std::getenv("ZCBENCH_PYTHON"); py != nullptr && *py != '\0') return py;
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

int RunAnalysis(const std::string& verb, const std::vector<std::string>& args) {
  const std::string source = SourceDir();
  if (!std::filesystem::exists(std::filesystem::path(source) / "analysis" / "__main__.py")) {
    fmt::print(
        stderr,
        "zcbench {}: the analysis package is not at {}/analysis; set ZCBENCH_SOURCE_DIR to the zcbench source tree\n",
        verb, source);
    return kExitUsage;
  }
  const char* old_path = std::getenv("PYTHONPATH");
  const std::string python_path = old_path && *old_path ? source + ":" + old_path : source;
  ::setenv("PYTHONPATH", python_path.c_str(), 1);
  const std::string python = Python();
  std::vector<std::string> argv_strings = {python, "-m", "analysis", verb};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execvp(python.c_str(), argv.data());
  fmt::print(stderr, "zcbench {}: cannot run {}: {}\n", verb, python, std::strerror(errno));
  return kExitUsage;
}

Command AddAnalysisCommand(CLI::App& app, const std::string& verb, const std::string& help) {
  auto* sub = app.add_subcommand(verb, help);
  // Everything after the verb goes to the Python side, which owns these options.
  sub->allow_extras();
  sub->prefix_command();
  sub->set_help_flag();  // --help too: the Python side prints its own
  return [sub, verb] { return RunAnalysis(verb, sub->remaining()); };
}

}  // namespace

Command AddReportCommand(CLI::App& app) {
  return AddAnalysisCommand(
      app, "report", "write HTML and Markdown reports with figures for RUN_DIR... [--out DIR] (zcbench report --help)");
}

Command AddCompareCommand(CLI::App& app) {
  return AddAnalysisCommand(
      app, "compare",
      "compare BASE_RUN NEW_RUN [--threshold 5%] [--confidence 0.95] [--metric ...] [--allow-partial]; "
      "exit 0 when every point-metric was judged and none regressed, 1 on a regression, 2 on bad input, "
      "3 when it cannot judge (too few repetitions, a metric's source differs, a metric missing, no "
      "point in common, runs of different host classes; --allow-partial accepts what was judged)");
}

}  // namespace zcb::cli
