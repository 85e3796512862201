// The paced send loop (workloads/send_loop.h): the stream's pieces, the byte and time
// limits, the cancel flag, pacing to a rate, and how often it reads the clock.

#include "workloads/send_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "stack/pattern.h"
#include "tests/workloads/recording_strategy.h"
#include "workloads/payload_source.h"

namespace zcb {
namespace {

// The steady clock, counting its reads.
struct CountingClock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CountingClock>;
  static constexpr bool is_steady = true;
  static inline uint64_t reads = 0;
  static time_point now() {
    ++reads;
    return time_point(std::chrono::steady_clock::now().time_since_epoch());
  }
};

class SendLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PayloadConfig config;
    config.max_message = 64 * 1024;
    auto created = PayloadSource::Create(config, Pattern(1));
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    payload_ = std::move(*created);
    CountingClock::reads = 0;
  }
  std::unique_ptr<PayloadSource> payload_;
  RecordingStrategy strategy_;
};

TEST_F(SendLoopTest, SendsTheStreamInMessagePiecesUpToTheByteCount) {
  const SendSchedule schedule{.message_size = 1000, .bytes = 10'500};
  TrialClock::time_point done{};
  ASSERT_TRUE(SendPaced(strategy_, *payload_, schedule, TrialClock::now(), nullptr, &done).ok());
  ASSERT_EQ(strategy_.sends.size(), 11u);
  uint64_t next = 0;
  for (const auto& call : strategy_.sends) {
    EXPECT_EQ(call.offset, next);
    next += call.len;
  }
  EXPECT_EQ(strategy_.sends.back().len, 500u);  // the last piece is what is left
  EXPECT_EQ(next, 10'500u);
  EXPECT_EQ(strategy_.finishes, 1);
  EXPECT_NE(done, TrialClock::time_point{});
}

TEST_F(SendLoopTest, UnpacedReadsTheClockOncePer64KiB) {
  // 1000-byte messages, 1 MB: a read per message would be 1000 reads.
  const uint64_t total = 1'000'000;
  const SendSchedule schedule{.message_size = 1000, .bytes = total};
  CountingClock::time_point done{};
  ASSERT_TRUE(SendPacedWith<CountingClock>(strategy_, *payload_, schedule, CountingClock::now(), nullptr, &done).ok());
  CountingClock::reads -= 1;  // the test's own read for `start`
  // A read when at least 64 KiB were sent since the last one (so between every 64 KiB and
  // every 64 KiB + one message), and one for `sends_done`.
  EXPECT_GE(CountingClock::reads, total / (kClockReadInterval + 1000) + 1);
  EXPECT_LE(CountingClock::reads, total / kClockReadInterval + 2);
  EXPECT_EQ(strategy_.sends.size(), 1000u);
}

TEST_F(SendLoopTest, PacedReadsTheClockAfterEveryMessageAndKeepsToTheRate) {
  // 16 Mbit/s = 2 MB/s: 200 KB take 100 ms at the least.
  const uint64_t total = 200'000;
  const SendSchedule schedule{.message_size = 10'000, .bytes = total, .rate_bps = 16'000'000};
  const auto start = CountingClock::now();
  ASSERT_TRUE(SendPacedWith<CountingClock>(strategy_, *payload_, schedule, start, nullptr).ok());
  const auto elapsed = CountingClock::now() - start;
  EXPECT_EQ(strategy_.sends.size(), 20u);
  // The last message is due 100 ms after the start: the loop slept until then.
  EXPECT_GE(elapsed, std::chrono::milliseconds(100));
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  // At least one read per message (sleeping may read it again).
  EXPECT_GE(CountingClock::reads, 20u + 2u);
}

TEST_F(SendLoopTest, StopsAtTheDurationWithoutAByteCount) {
  const SendSchedule schedule{.message_size = 64 * 1024, .duration_s = 0.05};
  const auto start = TrialClock::now();
  ASSERT_TRUE(SendPaced(strategy_, *payload_, schedule, start, nullptr).ok());
  EXPECT_GE(TrialClock::now() - start, std::chrono::milliseconds(50));
  EXPECT_GE(strategy_.sends.size(), 1u);
  EXPECT_EQ(strategy_.finishes, 1);
}

TEST_F(SendLoopTest, StopsAtTheFirstClockReadOnceCancelled) {
  const std::atomic<bool> cancel{true};
  const SendSchedule schedule{.message_size = 1000};  // no limit: only the flag stops it
  ASSERT_TRUE(SendPaced(strategy_, *payload_, schedule, TrialClock::now(), &cancel).ok());
  EXPECT_EQ(strategy_.sends.size(), 1u);
  EXPECT_EQ(strategy_.finishes, 1);
}

}  // namespace
}  // namespace zcb
