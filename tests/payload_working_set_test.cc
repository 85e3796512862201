// The working set the memory and file sources cycle through: by default several times
// the last-level cache (sends read from DRAM, as a server's do), recorded with the cache
// size; a given size is used (and makes a different point); a cold file is read from the
// device for every byte sent, not only for its first pass.

#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness/trial/trial.h"
#include "tests/ci_requirements.h"
#include "tests/trial_test_util.h"
#include "workloads/payload_source.h"

namespace zcb {
namespace {

TrialSpec ShortWrite() {
  TrialSpec spec;
  spec.strategy = "write";
  spec.duration_s = 0.1;
  spec.receiver = ReceiverMode::kVerify;
  ApplyDefaultPinning(spec);
  return spec;
}

TEST(PayloadWorkingSet, TheLastLevelCacheIsReadFromTheHost) {
  const auto llc = LastLevelCache();
  if (!llc) ZCB_SKIP_OR_FAIL_UNDER_CI("this host's sysfs names no data or unified cache");
  EXPECT_GE(llc->bytes, 64u * 1024) << llc->source;  // no LLC is smaller than an L1
  EXPECT_LE(llc->bytes, 4ull << 30) << llc->source;
  EXPECT_EQ(DefaultWorkingSet(), kWorkingSetPerLlc * llc->bytes);
}

TEST(PayloadWorkingSet, ByDefaultSeveralTimesTheLastLevelCacheAndRecorded) {
  const nlohmann::json record = testing::RunOrFail(ShortWrite());
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& payload = record["metrics"]["payload"];
  ASSERT_TRUE(payload["working_set_bytes"].is_number()) << payload.dump();
  const uint64_t working_set = payload["working_set_bytes"].get<uint64_t>();
  if (payload["llc_bytes"].is_number()) {
    const uint64_t llc = payload["llc_bytes"].get<uint64_t>();
    EXPECT_GE(working_set, kWorkingSetPerLlc * llc) << payload.dump();
    // Rounded up to whole pattern periods, no more.
    EXPECT_LT(working_set, kWorkingSetPerLlc * llc + record["params"]["pattern_period"].get<uint64_t>())
        << payload.dump();
  }
  EXPECT_TRUE(record["params"]["working_set"].is_null());
  EXPECT_EQ(record["point"].get<std::string>().find("working_set"), std::string::npos);
}

TEST(PayloadWorkingSet, AGivenWorkingSetIsUsedAndMakesItsOwnPoint) {
  TrialSpec spec = ShortWrite();
  spec.working_set = 256 * 1024;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  EXPECT_EQ(record["metrics"]["payload"]["working_set_bytes"], 256 * 1024);
  EXPECT_EQ(record["params"]["working_set"], 256 * 1024);
  EXPECT_NE(record["point"].get<std::string>().find(",working_set=262144"), std::string::npos) << record["point"];
  // Many passes over a cache-sized buffer, and every byte still verified.
  EXPECT_GT(record["metrics"]["payload"]["passes"].get<double>(), 1.0);
  EXPECT_EQ(record["metrics"]["integrity"]["mismatches"], 0);
}

TEST(PayloadWorkingSet, ATooSmallWorkingSetIsAUsageError) {
  TrialSpec spec = ShortWrite();
  spec.working_set = 100;
  testing::ExpectUsageErrorNaming(spec, {"--working-set", "4K"});
}

// A directory on a disk file system (not tmpfs), for files whose pages can be dropped.
std::string DiskDirectory() {
  for (const char* dir : {"/var/tmp", "/tmp"}) {
    struct statfs fs {};
    if (::statfs(dir, &fs) == 0 && fs.f_type != TMPFS_MAGIC) return dir;
  }
  return "";
}

TEST(PayloadWorkingSet, AColdFileIsReadFromTheDeviceForEveryPass) {
  const std::string dir = DiskDirectory();
  if (dir.empty()) {
    ZCB_SKIP_OR_FAIL_UNDER_CI("no disk-backed temporary directory here");
  }
  // Three passes over a 16 MiB file: the warm cache of the old single drop served
  // every pass after the first from memory.
  constexpr uint64_t kWorkingSet = 16ull << 20, kBytes = 3 * kWorkingSet;
  TrialSpec spec = testing::VerifiedStream("sendfile", kBytes);
  spec.source = SourceKind::kFile;
  spec.file_dir = dir;
  spec.cold_cache = true;
  spec.working_set = kWorkingSet;
  const nlohmann::json record = testing::RunOrFail(spec);
  testing::ExpectVerified(record, kBytes);
  const auto& payload = record["metrics"]["payload"];
  ASSERT_TRUE(payload["device_read_bytes"].is_number()) << payload.dump();
  const double read = payload["device_read_bytes"].get<double>();
  // Pages still held by queued socket data when a pass starts stay cached, and readahead
  // reads a little past what is sent: bounds on both sides.
  EXPECT_GE(read, 0.75 * kBytes) << payload.dump();
  EXPECT_LE(read, 1.1 * kBytes + (4 << 20)) << payload.dump();
  EXPECT_EQ(payload["page_cache_drops"], 2) << payload.dump();
  EXPECT_EQ(payload["working_set_bytes"], kWorkingSet);
}

}  // namespace
}  // namespace zcb
