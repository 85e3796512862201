// resctrl memory-bandwidth allocation (drivers/resctrl.h) against a fake resctrl tree in a
// temporary directory: what it reads of info/MB and the root schemata, the files it writes
// (the group's schemata and tasks), its refusals, and the group's removal. Plus, on this
// host, that a memory-bandwidth limit is either possible or refused as unsupported with a
// reason that names the antagonist, never a crash.

#include "drivers/resctrl.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "drivers/host_constraints.h"

namespace zcb {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Put(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// A resctrl root as the kernel shows it on a two-socket machine with MBA: info/MB and an
// MB line (beside L3) in the root group's schemata.
class FakeResctrl : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / fmt::format("zcb-resctrl-test-{}", ::getpid());
    fs::remove_all(root_);
    Put(root_ / "info/MB/min_bandwidth", "10\n");
    Put(root_ / "info/MB/bandwidth_gran", "10\n");
    Put(root_ / "info/MB/delay_linear", "1\n");
    Put(root_ / "info/last_cmd_status", "ok\n");
    Put(root_ / "schemata", "    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n");
    Put(root_ / "tasks", "");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

TEST_F(FakeResctrl, ReadsTheMbResource) {
  auto mb = MemoryBandwidthAllocationAt(root_.string());
  ASSERT_TRUE(mb.ok()) << mb.error().ToString();
  EXPECT_EQ(mb->root, root_.string());
  EXPECT_EQ(mb->domains, (std::vector<int>{0, 1}));
  EXPECT_EQ(mb->min_percent, 10);
  EXPECT_EQ(mb->granularity_percent, 10);
  EXPECT_EQ(mb->delay_linear, "1");
  EXPECT_FALSE(mb->mounted_here);
}

TEST_F(FakeResctrl, WithoutInfoMbItIsUnsupportedNamingTheAntagonist) {
  fs::remove_all(root_ / "info/MB");
  auto mb = MemoryBandwidthAllocationAt(root_.string());
  ASSERT_FALSE(mb.ok());
  EXPECT_EQ(mb.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(mb.error().ToString().find("no MB resource"), std::string::npos) << mb.error().ToString();
  EXPECT_NE(mb.error().ToString().find("--membw-antagonist"), std::string::npos) << mb.error().ToString();
}

TEST_F(FakeResctrl, TheGroupWritesItsSchemataAndTasksAndIsRemoved) {
  auto mb = MemoryBandwidthAllocationAt(root_.string());
  ASSERT_TRUE(mb.ok()) << mb.error().ToString();
  const int tid = static_cast<int>(::syscall(SYS_gettid));
  std::string dir;
  {
    auto group = ResctrlGroup::Create(*mb, 40);
    ASSERT_TRUE(group.ok()) << group.error().ToString();
    dir = (*group)->dir();
    EXPECT_EQ(fs::path(dir).parent_path(), root_);
    EXPECT_EQ(fs::path(dir).filename().string().rfind(fmt::format("zcb-{}-", ::getpid()), 0), 0u) << dir;
    EXPECT_EQ(Slurp(fs::path(dir) / "schemata"), "MB:0=40;1=40\n");
    EXPECT_EQ(Slurp(fs::path(dir) / "tasks"), fmt::format("{}\n", tid));  // the calling thread
    ASSERT_TRUE((*group)->AddThread(tid + 1).ok());
    EXPECT_EQ(Slurp(fs::path(dir) / "tasks"), fmt::format("{}\n{}\n", tid, tid + 1));  // one write per task

    const nlohmann::json report = (*group)->Report();
    EXPECT_EQ(report["percent"], 40);
    EXPECT_EQ(report["group"], dir);
    EXPECT_EQ(report["schemata_written"], "MB:0=40;1=40");
    EXPECT_EQ(report["schemata_applied"], "MB:0=40;1=40");  // as read back
    EXPECT_EQ(report["threads"], nlohmann::json::array({tid, tid + 1}));

    // The kernel's group files vanish with the group; a plain directory keeps them, so the
    // test removes them for the rmdir to succeed, as on the real file system. (Moving the
    // tasks back to the root group first is RemoveCgroupDir's, as for a cgroup.)
    fs::remove(fs::path(dir) / "schemata");
    fs::remove(fs::path(dir) / "tasks");
  }
  EXPECT_FALSE(fs::exists(dir)) << "the group outlived its owner";
}

TEST_F(FakeResctrl, BelowTheHostsMinimumIsUnsupported) {
  auto mb = MemoryBandwidthAllocationAt(root_.string());
  ASSERT_TRUE(mb.ok());
  auto group = ResctrlGroup::Create(*mb, 5);
  ASSERT_FALSE(group.ok());
  EXPECT_EQ(group.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(group.error().ToString().find("10% to 100%"), std::string::npos) << group.error().ToString();
  for (const auto& entry : fs::directory_iterator(root_)) {
    EXPECT_EQ(entry.path().filename().string().rfind("zcb-", 0), std::string::npos) << entry.path();
  }
}

TEST(ResctrlMount, FoundInAMountsFileWithItsOptions) {
  const fs::path mounts = fs::temp_directory_path() / fmt::format("zcb-mounts-{}", ::getpid());
  std::ofstream(mounts) << "proc /proc proc rw,nosuid 0 0\nresctrl /sys/fs/resctrl resctrl rw,relatime,mba_MBps 0 0\n";
  const auto found = FindResctrlMount(mounts.string());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->dir, "/sys/fs/resctrl");
  EXPECT_NE(found->options.find("mba_MBps"), std::string::npos);
  std::ofstream(mounts) << "proc /proc proc rw,nosuid 0 0\n";
  EXPECT_FALSE(FindResctrlMount(mounts.string()).has_value());
  fs::remove(mounts);
}

// On this host: a limit is set up (and reported), or refused as unsupported with the
// reason and the antagonist as the way to emulate it.
TEST(MembwLimit, ThisHostSetsItOrSaysWhyNotAndNamesTheEmulation) {
  HostConstraintSpec spec;
  spec.membw_limit_percent = 50;
  ASSERT_TRUE(ValidateHostConstraints(spec).ok());
  auto constraints = HostConstraints::Create(spec);
  if (constraints.ok()) {
    const nlohmann::json report = (*constraints)->Report();
    EXPECT_EQ(report["membw_limit"]["percent"], 50);
    return;
  }
  EXPECT_EQ(constraints.error().kind(), ErrorKind::kUnsupported) << constraints.error().ToString();
  EXPECT_NE(constraints.error().ToString().find("--membw-limit 50%"), std::string::npos)
      << constraints.error().ToString();
  if (!fs::exists("/sys/fs/resctrl/info/MB")) {
    EXPECT_NE(constraints.error().ToString().find("--membw-antagonist"), std::string::npos)
        << constraints.error().ToString();
  }
}

TEST(MembwLimit, OutOfRangeIsAUsageError) {
  for (int percent : {0, 101}) {
    HostConstraintSpec spec;
    spec.membw_limit_percent = percent;
    const Status s = ValidateHostConstraints(spec);
    ASSERT_FALSE(s.ok()) << percent;
    EXPECT_EQ(s.error().kind(), ErrorKind::kUsage);
  }
}

TEST(MembwLimit, TheAntagonistIsLabelledAnEmulation) {
  HostConstraintSpec spec;
  spec.membw_cpus = {0};
  spec.membw_buffer_bytes = 4u << 20;
  auto constraints = HostConstraints::Create(spec);
  ASSERT_TRUE(constraints.ok()) << constraints.error().ToString();
  (*constraints)->Stop();
  const nlohmann::json report = (*constraints)->Report();
  EXPECT_EQ(report["membw_antagonist"]["method"], "emulation");
  EXPECT_TRUE(report["membw_limit"].is_null());
}

}  // namespace
}  // namespace zcb
