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

// Two runs that override the same sysctl in one namespace would put back each other's
// values in the wrong order: while one holds it, another is refused, naming the holder.
TEST(SysctlOverride, ASecondRunIsRefusedWhileAnotherHoldsTheSysctl) {
  ZCB_NEEDS_ROOT();
  const std::string before = Current();
  const testing::ForkedChild holder = testing::ForkReadyChild([&] {
    auto set = SysctlOverride::Set(kName, OnePageMore(before));
    const bool ok = set.ok();
    if (ok) set->release();  // holds it until the test ends the child
    return ok;
  });
  ASSERT_GE(holder.pid, 0);
  ASSERT_TRUE(holder.ready);
  auto second = SysctlOverride::Set(kName, OnePageMore(OnePageMore(before)));
  // Ctrl-C for the holder: its handler puts the value back (the emergency table).
  ::kill(holder.pid, SIGINT);
  ::waitpid(holder.pid, nullptr, 0);
  ASSERT_FALSE(second.ok()) << "the second override was allowed while another run held " << kName;
  const std::string why = second.error().ToString();
  EXPECT_NE(why.find(kName), std::string::npos) << why;
  EXPECT_NE(why.find("pid " + std::to_string(holder.pid)), std::string::npos) << why;
  for (const auto& l : SysctlsOf(holder.pid)) {  // the child died by the signal: its file is ours to remove
    if (auto state = ReadSysctlStateFile(l.location); state.ok()) (void)RestoreSysctlStateFile(*state);
  }
  EXPECT_EQ(Current(), before);
  std::filesystem::remove("/run/zcbench/" + std::to_string(holder.pid) + ".lock");
}

// A killed run's override is still in force: its original value is in its state file,
// and a new run that took the current value as the original would put back the wrong one.
TEST(SysctlOverride, AKilledRunsOverrideMustBeCleanedUpFirst) {
  ZCB_NEEDS_ROOT();
  const std::string before = Current();
  const testing::ForkedChild killed = testing::ForkReadyChild([&] {
    auto set = SysctlOverride::Set(kName, OnePageMore(before));
    const bool ok = set.ok();
    if (ok) set->release();
    return ok;
  });
  ASSERT_GE(killed.pid, 0);
  ::kill(killed.pid, SIGKILL);
  ::waitpid(killed.pid, nullptr, 0);
  ASSERT_TRUE(killed.ready);
  auto next = SysctlOverride::Set(kName, before);
  const bool refused = !next.ok();
  const std::string why = refused ? next.error().ToString() : std::string();
  next = Errorf("released");  // a granted override goes back before the cleanup below
  for (const auto& l : SysctlsOf(killed.pid)) {
    if (auto state = ReadSysctlStateFile(l.location); state.ok()) (void)RestoreSysctlStateFile(*state);
  }
  std::filesystem::remove("/run/zcbench/" + std::to_string(killed.pid) + ".lock");
  EXPECT_EQ(Current(), before);
  ASSERT_TRUE(refused) << "a new override was allowed over a killed run's";
  EXPECT_NE(why.find("zcbench cleanup"), std::string::npos) << why;
  EXPECT_NE(why.find(before), std::string::npos) << "names the value to put back: " << why;
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
