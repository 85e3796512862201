// Objects zcbench creates never outlive the run: naming and ownership, Ctrl-C, and
// `zcbench cleanup` after a kill -9 in the middle of a routed trial or a sink trial.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "drivers/command.h"
#include "drivers/leftovers.h"
#include "drivers/live_objects.h"
#include "drivers/network_path.h"
#include "tests/forked_child.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

using testing::RunOrFail;
using testing::VerifiedStream;

// Every zcb- object (namespace, link, qdisc, cgroup) owned by `pid`.
std::vector<Leftover> ObjectsOf(pid_t pid) {
  std::vector<Leftover> out;
  for (const auto& l : FindLeftovers()) {
    if (l.owner == pid) out.push_back(l);
  }
  return out;
}

std::string Names(const std::vector<Leftover>& objects) {
  std::string s;
  for (const auto& l : objects) s += l.Describe() + "\n";
  return s;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

TEST(LiveObjectsTest, NamesCarryTheOwner) {
  EXPECT_EQ(ObjectOwner("zcb-4711-3-snd"), 4711);
  EXPECT_EQ(ObjectOwner("zcb-4711-s"), 4711);
  EXPECT_EQ(ObjectOwner("zcb-4711"), 4711);
  EXPECT_FALSE(ObjectOwner("zcb-test").has_value());
  EXPECT_FALSE(ObjectOwner("zcbx-1-2").has_value());
  EXPECT_FALSE(ObjectOwner("eth0").has_value());
  auto id = NewObjectId();
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(ObjectOwner("zcb-" + *id + "-snd"), ::getpid());
  EXPECT_TRUE(OwnerAlive(::getpid())) << "this process holds its owner lock";
  EXPECT_LE(InterfaceName("-ra").size(), 15u) << "IFNAMSIZ";
}

TEST(LiveObjectsTest, LiveRunsAreLeftAlone) {
  ZCB_REQUIRE_ROOT();
  auto path = CreatePath("veth", {});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  const auto mine = ObjectsOf(::getpid());
  ASSERT_EQ(mine.size(), 2u) << Names(mine);
  for (const auto& l : mine) EXPECT_FALSE(l.Stale(/*include_unknown=*/true)) << l.Describe();
  path->reset();
  EXPECT_TRUE(ObjectsOf(::getpid()).empty()) << Names(ObjectsOf(::getpid()));
}

TEST(LiveObjectsTest, SignalHandlerRemovesTheObjectsOfAnInterruptedRun) {
  ZCB_REQUIRE_ROOT();
  // The child makes a routed path and keeps it until Ctrl-C.
  const testing::ForkedChild forked = testing::ForkReadyChild([] {
    InstallCleanupSignalHandlers();
    auto path = CreatePath("routed", {});
    const bool ok = path.ok();
    if (ok) path->release();  // live until the signal handler removes its objects
    return ok;
  });
  const pid_t child = forked.pid;
  ASSERT_GE(child, 0);
  ASSERT_TRUE(forked.ready);
  EXPECT_EQ(ObjectsOf(child).size(), 3u) << Names(ObjectsOf(child));
  ::kill(child, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "the signal takes its course after the cleanup";
  EXPECT_TRUE(ObjectsOf(child).empty()) << Names(ObjectsOf(child));
  EXPECT_FALSE(std::filesystem::exists("/run/zcbench/" + std::to_string(child) + ".lock"))
      << "nothing for cleanup to do";
}

// In a forked child: runs the 20 s trial `spec` (unless killed first), then exits.
[[noreturn]] void RunTrialThenExit(TrialSpec spec) {
  spec.bytes.reset();
  spec.duration_s = 20;
  auto resolved = ResolveTrial(spec);
  if (resolved.ok()) {
    TrialContext context;
    context.run_id = "kill9";
    (void)RunTrial(*resolved, context);
  }
  ::_exit(0);
}

// Kills `child` (a run in the middle of a trial), then removes what it left, as
// `zcbench cleanup` does, and checks that nothing of it is left.
void KillNineThenCleanupLeavesNothing(pid_t child, bool running) {
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(running) << "the trial never got going";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // The killed run left its objects; they are stale now.
  const auto left = ObjectsOf(child);
  ASSERT_FALSE(left.empty());
  std::vector<Leftover> stale;
  for (const auto& l : FindLeftovers()) {
    if (l.Stale(/*include_unknown=*/false)) stale.push_back(l);
  }
  for (const auto& l : left) EXPECT_TRUE(l.Stale(false)) << l.Describe();
  const LeftoverRemoval removal = RemoveLeftovers(stale);
  EXPECT_TRUE(removal.failed.empty()) << removal.failed.front().second;

  // Nothing of it is left: no namespace, link, qdisc or cgroup, and no owner lock.
  EXPECT_TRUE(ObjectsOf(child).empty()) << Names(ObjectsOf(child));
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns")) {
    EXPECT_NE(entry.path().filename().string().rfind("zcb-" + std::to_string(child) + "-", 0), 0u) << entry.path();
  }
  auto links = RunCommand({"ip", "-o", "link", "show"});
  ASSERT_TRUE(links.ok());
  EXPECT_EQ(links->out.find("zcb-" + std::to_string(child)), std::string::npos) << links->out;
  auto qdiscs = RunCommand({"tc", "qdisc", "show"});
  ASSERT_TRUE(qdiscs.ok());
  EXPECT_EQ(qdiscs->out.find("zcb-" + std::to_string(child)), std::string::npos) << qdiscs->out;
  EXPECT_FALSE(std::filesystem::exists("/run/zcbench/" + std::to_string(child) + ".lock"));
  EXPECT_FALSE(OwnerAlive(child));
}

TEST(CleanupTest, KillNineMidRoutedTrialThenCleanupLeavesNothing) {
  ZCB_REQUIRE_ROOT();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A routed trial with a shaped router and a sender CPU quota: namespaces, links,
    // qdiscs and a cgroup, all live when the kill comes.
    TrialSpec spec = VerifiedStream("write", 0);
    spec.path = "routed";
    spec.path_options = {{"preset", "100baseTX"}};
    spec.constraints.sender_cpu_quota = 0.5;
    RunTrialThenExit(spec);
  }
  // Wait until the trial runs: three namespaces and the cgroup exist, traffic flows.
  const bool running = WaitFor(
      [&] {
        int namespaces = 0, cgroups = 0;
        for (const auto& l : ObjectsOf(child)) {
          namespaces += l.kind == Leftover::Kind::kNamespace;
          cgroups += l.kind == Leftover::Kind::kCgroup;
        }
        return namespaces == 3 && cgroups == 1;
      },
      std::chrono::seconds(10));
  if (running) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  KillNineThenCleanupLeavesNothing(child, running);
}

// BPF programs loaded now with the sink's name (sink.bpf.c's classifier).
int SinkProgramsLoaded() {
  auto shown = RunCommand({"bpftool", "-j", "prog", "show"});
  if (!shown.ok()) return -1;
  int count = 0;
  for (const auto& prog : nlohmann::json::parse(shown->out)) count += prog.value("name", "") == "sink_count";
  return count;
}

TEST(CleanupTest, KillNineMidSinkTrialThenCleanupLeavesNothing) {
  ZCB_REQUIRE_ROOT();
  const int programs_before = SinkProgramsLoaded();
  ASSERT_GE(programs_before, 0) << "bpftool prog show failed";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A UDP trial into the sink: its namespaces, the veth pair (or dummy device), the
    // clsact qdisc and the BPF classifier, all live when the kill comes.
    TrialSpec spec = ::zcb::testing::UdpSpec("sendto", 1400, 1);
    spec.path = "sink";
    RunTrialThenExit(spec);
  }
  // Running: the sink's namespace exists and its classifier is attached.
  const bool running = WaitFor([&] { return !ObjectsOf(child).empty() && SinkProgramsLoaded() > programs_before; },
                               std::chrono::seconds(10));
  if (running) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  KillNineThenCleanupLeavesNothing(child, running);
  // The classifier went with its device, and the program with it (freed after an RCU
  // grace period).
  EXPECT_TRUE(WaitFor([&] { return SinkProgramsLoaded() == programs_before; }, std::chrono::seconds(5)))
      << SinkProgramsLoaded() << " sink programs loaded, " << programs_before << " before";
}

}  // namespace
}  // namespace zcb
