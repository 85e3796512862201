// zcbench doctor: what this machine supports for zcbench, and what each missing piece
// disables (privilege, BPF and BTF, the probe tracepoints, counters, memory-traffic
// sources, io_uring opcodes, SO_ZEROCOPY, limits).

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "harness/cli/commands.h"
#include "harness/doctor/checklist.h"

namespace zcb::cli {
namespace {

struct DoctorArgs {
  bool json = false;
};

int Doctor(const DoctorArgs& args) {
  const std::vector<SupportCheck> checks = CheckHostSupport();
  if (args.json) {
    fmt::print("{}\n", SupportChecksJson(checks).dump(2));
    return kExitOk;
  }
  size_t name_width = 0;
  for (const SupportCheck& c : checks) name_width = std::max(name_width, c.name.size());
  std::string area;
  int missing = 0;
  for (const SupportCheck& c : checks) {
    if (c.area != area) {
      area = c.area;
      fmt::print("{}{}\n", area == checks.front().area ? "" : "\n", area);
    }
    fmt::print("  [{}] {:<{}}  {}\n", c.ok ? "ok" : "--", c.name, name_width, c.detail);
    if (!c.ok && !c.disables.empty()) fmt::print("       {:<{}}  -> disables: {}\n", "", name_width, c.disables);
    if (!c.ok) ++missing;
  }
  fmt::print("\n{} checks, {} missing\n", checks.size(), missing);
  return kExitOk;
}

}  // namespace

Command AddDoctorCommand(CLI::App& app) {
  auto args = std::make_shared<DoctorArgs>();
  auto* sub = app.add_subcommand(
      "doctor", "check what this machine supports (BPF, tracepoints, counters, zero-copy) and what is missing");
  sub->add_flag("--json", args->json, "print the checks as a JSON array");
  return [args] { return Doctor(*args); };
}

}  // namespace zcb::cli
