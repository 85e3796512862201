// zcbench cleanup: remove what killed runs left behind (zcb- namespaces, links, qdiscs,
// cgroups; sysctls and a real interface's settings to put back), leaving the objects of
// runs that are still going alone.

#include <memory>

#include <fmt/format.h>

#include "drivers/leftovers.h"
#include "drivers/live_objects.h"
#include "drivers/privilege.h"
#include "harness/cli/commands.h"

namespace zcb::cli {
namespace {

struct CleanupArgs {
  bool dry_run = false;
  bool all = false;
};

int Cleanup(const CleanupArgs& args) {
  const std::vector<Leftover> found = FindLeftovers();
  std::vector<Leftover> stale;
  for (const auto& l : found) {
    if (l.Stale(args.all)) {
      stale.push_back(l);
    } else {
      fmt::print("left alone: {}{}\n", l.Describe(), l.owner ? "" : " (use --all to remove objects of unknown owners)");
    }
  }
  if (stale.empty()) {
    // A run killed before it created any object leaves only its owner lock.
    const int locks = args.dry_run ? 0 : RemoveStaleOwnerLocks();
    if (locks > 0) {
      fmt::print("removed {} lock file(s) of dead runs\n", locks);
    } else {
      fmt::print("nothing to clean up: no zcb- object of a dead run\n");
    }
    return kExitOk;
  }
  if (args.dry_run) {
    for (const auto& l : stale) fmt::print("would remove: {}\n", l.Describe());
    return kExitOk;
  }
  if (auto s = RequireCapabilities({Capability::kNetAdmin, Capability::kSysAdmin}, "zcbench cleanup",
                                   "it deletes network namespaces, links, qdiscs and cgroups");
      !s.ok()) {
    fmt::print(stderr, "zcbench cleanup: {}\n", s.error().ToString());
    return kExitFailed;
  }
  const LeftoverRemoval removal = RemoveLeftovers(stale);
  for (const auto& l : removal.removed) fmt::print("removed: {}\n", l.Describe());
  for (const auto& [l, why] : removal.failed)
    fmt::print(stderr, "zcbench cleanup: could not remove {}: {}\n", l.Describe(), why);
  if (removal.lock_files_removed > 0) fmt::print("removed {} lock file(s) of dead runs\n", removal.lock_files_removed);
  return removal.failed.empty() ? kExitOk : kExitFailed;
}

}  // namespace

void HandleLeftoversAtRunStart(bool clean) {
  std::vector<Leftover> stale;
  for (const auto& l : FindLeftovers()) {
    if (l.Stale(/*include_unknown=*/false)) stale.push_back(l);
  }
  if (stale.empty()) return;
  if (!clean) {
    fmt::print(stderr,
               "zcbench: {} object(s) left behind by killed runs (remove them with zcbench cleanup, or run --clean):\n",
               stale.size());
    for (const auto& l : stale) fmt::print(stderr, "  {}\n", l.Describe());
    return;
  }
  const LeftoverRemoval removal = RemoveLeftovers(stale);
  for (const auto& l : removal.removed) fmt::print(stderr, "zcbench: removed {}\n", l.Describe());
  for (const auto& [l, why] : removal.failed)
    fmt::print(stderr, "zcbench: could not remove {}: {}\n", l.Describe(), why);
}

Command AddCleanupCommand(CLI::App& app) {
  auto args = std::make_shared<CleanupArgs>();
  auto* sub = app.add_subcommand("cleanup",
                                 "remove the namespaces, links, qdiscs and cgroups that killed runs left behind, and "
                                 "put back the sysctls and interface settings they changed");
  sub->add_flag("--dry-run,-n", args->dry_run, "only list what would be removed");
  sub->add_flag("--all", args->all, "also remove zcb- objects whose owner cannot be told from the name");
  return [args] { return Cleanup(*args); };
}

}  // namespace zcb::cli
