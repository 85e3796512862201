// Sibling threads (stack/sibling_thread.h): a started sibling runs on the CPU it was given
// until stopped; a spinning one burns its CPU, a sleeping one does not.

#include "stack/sibling_thread.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/ci_requirements.h"

namespace zcb {
namespace {

// The CPU a thread of this process last ran on (field 39 of /proc/self/task/TID/stat).
int LastCpuOf(int tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  for (int i = 3; i <= 39 && fields >> field; ++i) {
  }
  return std::stoi(field);
}

TEST(SiblingThread, ModesParseAndPrint) {
  EXPECT_TRUE(ParseSiblingMode("spin") == SiblingMode::kSpin);
  EXPECT_TRUE(ParseSiblingMode("sleep") == SiblingMode::kSleep);
  EXPECT_FALSE(ParseSiblingMode("idle"));
  EXPECT_EQ(ToString(SiblingMode::kSleep), "sleep");
}

TEST(SiblingThread, RunsOnItsCpuSpinningOrSleeping) {
  auto cpus = AllowedCpus();
  ASSERT_TRUE(cpus.ok()) << cpus.error().ToString();
  ASSERT_FALSE(cpus->empty());
  const int cpu = cpus->back();
  SiblingThread spinner, sleeper;
  ASSERT_TRUE(spinner.Start(cpu, SiblingMode::kSpin).ok());
  ASSERT_TRUE(sleeper.Start(cpu, SiblingMode::kSleep).ok());
  EXPECT_GT(spinner.tid(), 0);
  EXPECT_GT(sleeper.tid(), 0);
  EXPECT_NE(spinner.tid(), sleeper.tid());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(LastCpuOf(spinner.tid()), cpu);
  EXPECT_EQ(LastCpuOf(sleeper.tid()), cpu);
  spinner.Stop();
  sleeper.Stop();
  // The spinner had the CPU (shared with the sleeper and whatever else runs there) for a
  // good part of 200 ms; the sleeper ran only to pin itself and block.
  EXPECT_GT(spinner.cpu_time_ns(), 20'000'000u);
  EXPECT_LT(spinner.cpu_time_ns(), 2'000'000'000u);
  EXPECT_LT(sleeper.cpu_time_ns(), 10'000'000u);
  // Stopped twice, restarted: still a thread of its own.
  sleeper.Stop();
  ASSERT_TRUE(sleeper.Start(cpu, SiblingMode::kSleep).ok());
  EXPECT_GT(sleeper.tid(), 0);
}

TEST(SiblingThread, AnImpossibleCpuIsAnErrorNotAHang) {
  SiblingThread sibling;
  const Status s = sibling.Start(CPU_SETSIZE - 1, SiblingMode::kSpin);
  if (s.ok()) ZCB_SKIP_OR_FAIL_UNDER_CI("this machine has a CPU numbered CPU_SETSIZE - 1");
  EXPECT_NE(s.error().ToString().find("CPU"), std::string::npos) << s.error().ToString();
}

}  // namespace
}  // namespace zcb
