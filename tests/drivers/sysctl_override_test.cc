// A sysctl set for a trial comes back on every exit path: the end of its scope, the
// signal handler's emergency table, and `zcbench cleanup` after a kill -9 (its state file).
// Each test moves net.core.optmem_max by one page for a moment and checks it is put back.

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "drivers/leftovers.h"
#include "drivers/live_objects.h"
#include "drivers/sysctl_override.h"
#include "tests/ci_requirements.h"
#include "tests/forked_child.h"

namespace zcb {
namespace {

constexpr const char* kName = "net.core.optmem_max";

#define ZCB_NEEDS_ROOT()                                                            \
  do {                                                                              \
    if (::geteuid() != 0) ZCB_SKIP_OR_FAIL_UNDER_CI("setting a sysctl needs root"); \
  } while (0)

std::string Current() {
  auto value = ReadSysctl(kName);
  return value.ok() ? *value : std::string();
}
std::string OnePageMore(const std::string& value) { return std::to_string(std::stoull(value) + 4096); }

std::vector<Leftover> SysctlsOf(pid_t pid) {
  std::vector<Leftover> out;
  for (const auto& l : FindLeftovers()) {
    if (l.kind == Leftover::Kind::kSysctl && l.owner == pid) out.push_back(l);
  }
  return out;
}

TEST(SysctlOverride, PutsTheValueBackAtTheEndOfItsScope) {
  ZCB_NEEDS_ROOT();
  const std::string before = Current();
  ASSERT_FALSE(before.empty());
  {
    auto set = SysctlOverride::Set(kName, OnePageMore(before));
    ASSERT_TRUE(set.ok()) << set.error().ToString();
    EXPECT_EQ(Current(), OnePageMore(before));
    EXPECT_EQ((*set)->original(), before);
    // In the process's namespace: a state file for cleanup, owned by this (live) run.
    const auto mine = SysctlsOf(::getpid());
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].name, std::string(kName) + "=" + before);
    EXPECT_FALSE(mine[0].Stale(/*include_unknown=*/true)) << "a live run's setting is left alone";
  }
  EXPECT_EQ(Current(), before);
  EXPECT_TRUE(SysctlsOf(::getpid()).empty());
}

TEST(SysctlOverride, TheEmergencyTablePutsItBack) {
  ZCB_NEEDS_ROOT();
  const std::string before = Current();
  auto set = SysctlOverride::Set(kName, OnePageMore(before));
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  RemoveAllLiveObjects();  // what the handler of a second Ctrl-C or a SIGTERM does
  EXPECT_EQ(Current(), before);
  EXPECT_TRUE(SysctlsOf(::getpid()).empty()) << "nothing left for cleanup";
  set->reset();
  EXPECT_EQ(Current(), before);
}

TEST(SysctlOverride, CleanupPutsBackWhatAKilledRunChanged) {
  ZCB_NEEDS_ROOT();
  const std::string before = Current();
  // The child sets the sysctl and keeps it until the kill -9.
  const testing::ForkedChild forked = testing::ForkReadyChild([&] {
    auto set = SysctlOverride::Set(kName, OnePageMore(before));
    const bool ok = set.ok();
    if (ok) set->release();  // held until the kill: no destructor puts it back
    return ok;
  });
  const pid_t child = forked.pid;
  ASSERT_GE(child, 0);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(forked.ready);
  EXPECT_EQ(Current(), OnePageMore(before)) << "a killed run cannot put it back itself";
  const auto left = SysctlsOf(child);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(left[0].Stale(/*include_unknown=*/false)) << left[0].Describe();
  // What `zcbench cleanup` does with it (RemoveLeftovers, by kind), for this run's only:
  // RemoveLeftovers itself would also remove the lock files of other dead runs.
  auto state = ReadSysctlStateFile(left[0].location);
  ASSERT_TRUE(state.ok()) << state.error().ToString();
  EXPECT_EQ(state->value, before);
  const Status restored = RestoreSysctlStateFile(*state);
  EXPECT_TRUE(restored.ok()) << restored.error().ToString();
  EXPECT_EQ(Current(), before);
  EXPECT_TRUE(SysctlsOf(child).empty());
  std::filesystem::remove("/run/zcbench/" + std::to_string(child) + ".lock");
}

// A namespace of a path's own goes with the path: its value is set there, the process's
// namespace is untouched and no state file is written.
TEST(SysctlOverride, InAnotherNamespaceOnlyThatNamespaceChanges) {
  ZCB_NEEDS_ROOT();
  const std::string before = Current();
  std::string inside, inside_after, error;
  bool in_process_namespace = true;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      error = "unshare(CLONE_NEWNET) failed";
      return;
    }
    in_process_namespace = InProcessNetworkNamespace();
    {
      auto set = SysctlOverride::Set(kName, "300000");
      if (!set.ok()) {
        error = set.error().ToString();
        return;
      }
      inside = Current();
    }
    inside_after = Current();
  }).join();
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_FALSE(in_process_namespace);
  EXPECT_EQ(inside, "300000");
  EXPECT_NE(inside_after, "300000");
  EXPECT_EQ(Current(), before);
  EXPECT_TRUE(SysctlsOf(::getpid()).empty());
}

}  // namespace
}  // namespace zcb
