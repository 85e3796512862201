// Completion bookkeeping of the zero-copy strategies (CompletionWindow, the kernel id
// mapping), and the zero-copy strategies driven directly on a loopback connection whose
// receiver misbehaves: it resets the connection, or stops reading so that the kernel
// keeps the lent buffers.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "harness/trial/trial_record.h"
#include "stack/registry.h"
#include "stack/unique_fd.h"
#include "stack/zerocopy_completions.h"
#include "tests/ci_requirements.h"
#include "workloads/payload_source.h"

namespace zcb {
namespace {

TEST(CompletionWindowTest, InOrderCompletionsAdvanceTheWatermark) {
  CompletionWindow w(4);
  EXPECT_EQ(w.Issue(), 0u);
  EXPECT_EQ(w.Issue(), 1u);
  EXPECT_FALSE(w.IsCompleted(0));
  ASSERT_TRUE(w.Complete(0, 2).ok());
  EXPECT_TRUE(w.IsCompleted(1));
  EXPECT_EQ(w.watermark(), 2u);
  EXPECT_EQ(w.outstanding(), 0u);
}

TEST(CompletionWindowTest, OutOfOrderCompletionsWaitForTheGap) {
  CompletionWindow w(8);
  for (int i = 0; i < 5; ++i) w.Issue();
  ASSERT_TRUE(w.Complete(2, 3).ok());  // 2..4 before 0..1
  EXPECT_EQ(w.watermark(), 0u);
  EXPECT_FALSE(w.IsCompleted(4));  // a gate on 4 must still wait for 0 and 1
  EXPECT_EQ(w.completed(), 3u);
  EXPECT_EQ(w.outstanding(), 2u);
  ASSERT_TRUE(w.Complete(1, 1).ok());
  EXPECT_EQ(w.watermark(), 0u);
  ASSERT_TRUE(w.Complete(0, 1).ok());
  EXPECT_EQ(w.watermark(), 5u);
  EXPECT_TRUE(w.IsCompleted(4));
}

TEST(CompletionWindowTest, RejectsCompletionsThatWereNeverIssuedOrCameTwice) {
  CompletionWindow w(8);
  w.Issue();
  w.Issue();
  EXPECT_FALSE(w.Complete(1, 2).ok());  // 2 was never issued
  ASSERT_TRUE(w.Complete(1, 1).ok());
  Status twice = w.Complete(1, 1);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().what().find("twice"), std::string::npos) << twice.error().what();
  ASSERT_TRUE(w.Complete(0, 1).ok());
  EXPECT_FALSE(w.Complete(0, 1).ok());  // below the watermark
  EXPECT_EQ(w.completed(), 2u);
}

TEST(CompletionWindowTest, IsFullAtItsCapacityAndReusesItsFlagsAfterwards) {
  CompletionWindow w(3);
  for (uint64_t round = 0; round < 100; ++round) {
    EXPECT_FALSE(w.full());
    w.Issue();
    w.Issue();
    w.Issue();
    EXPECT_TRUE(w.full());
    ASSERT_TRUE(w.Complete(round * 3 + 2, 1).ok());
    EXPECT_TRUE(w.full());  // the oldest still holds the window
    ASSERT_TRUE(w.Complete(round * 3, 2).ok());
  }
  EXPECT_EQ(w.watermark(), 300u);
  EXPECT_EQ(w.completed(), 300u);
}

TEST(ZerocopyIdTest, KernelIdsMapAcrossThe32BitWrap) {
  const uint64_t watermark = (5ull << 32) + 0xfffffff0u;
  EXPECT_EQ(UnwrapZerocopyId(watermark, 0xfffffff0u), watermark);
  EXPECT_EQ(UnwrapZerocopyId(watermark, 0xffffffffu), watermark + 15);
  EXPECT_EQ(UnwrapZerocopyId(watermark, 0u), 6ull << 32);
  EXPECT_EQ(UnwrapZerocopyId(watermark, 3u), (6ull << 32) + 3);
  EXPECT_EQ(UnwrapZerocopyId(0, 7u), 7u);
}

// The completion accounting fed directly: loopback and veth deliver locally, where every
// completion is "copied", so the path of sends completed without a copy, and of ranges
// mixing both, is exercised here with the notifications the kernel would queue.
ErrqueueCompletions IssuedSends(int sends) {
  ErrqueueCompletions c(/*fd=*/-1, /*max_inflight=*/64, std::chrono::milliseconds(10));
  for (int i = 0; i < sends; ++i) c.Issued();
  return c;
}

TEST(ZerocopyAccountingTest, SingleSendNotificationsSplitExactly) {
  ErrqueueCompletions c = IssuedSends(4);
  ASSERT_TRUE(c.Notify(0, 0, /*copied=*/false).ok());
  ASSERT_TRUE(c.Notify(1, 1, /*copied=*/true).ok());
  ASSERT_TRUE(c.Notify(3, 3, /*copied=*/false).ok());  // out of order: 2 still lent
  ASSERT_TRUE(c.Notify(2, 2, /*copied=*/false).ok());
  EXPECT_EQ(c.stats().completions, 4u);
  EXPECT_EQ(c.stats().zerocopy, 3u);
  EXPECT_EQ(c.stats().copied, 1u);
  EXPECT_EQ(c.stats().ranged, 0u);
  EXPECT_EQ(c.window().watermark(), 4u);
}

TEST(ZerocopyAccountingTest, ARangeCountsEverySendUnderItsCode) {
  ErrqueueCompletions c = IssuedSends(10);
  ASSERT_TRUE(c.Notify(0, 5, /*copied=*/false).ok());  // six sends, not copied
  ASSERT_TRUE(c.Notify(6, 9, /*copied=*/true).ok());   // four sends, copied
  EXPECT_EQ(c.stats().completions, 10u);
  EXPECT_EQ(c.stats().zerocopy, 6u);
  EXPECT_EQ(c.stats().copied, 4u);
  EXPECT_EQ(c.stats().ranged, 10u);
  EXPECT_EQ(c.stats().completions, c.stats().zerocopy + c.stats().copied);
}

// skb_zerocopy_notify_extend (net/core/skbuff.c) extends the queued notification's id
// range with an adjacent one and keeps the queued one's code: a copied send completed
// right after a zero-copy one is reported inside the zero-copy range. The accounting
// cannot see it; it counts the sends reported in ranges so the record can say so.
TEST(ZerocopyAccountingTest, AMergedRangeWithMixedCodesIsCountedAsRanged) {
  ErrqueueCompletions c = IssuedSends(8);
  // What the kernel queued for sends 0-2 zero-copy, 3 copied, 4 zero-copy, merged into
  // one notification 0..4 with the first code; then 5 alone, copied; then 6..7 copied.
  ASSERT_TRUE(c.Notify(0, 4, /*copied=*/false).ok());
  ASSERT_TRUE(c.Notify(5, 5, /*copied=*/true).ok());
  ASSERT_TRUE(c.Notify(6, 7, /*copied=*/true).ok());
  EXPECT_EQ(c.stats().zerocopy, 5u);  // 4 in truth: send 3 is hidden in the range
  EXPECT_EQ(c.stats().copied, 3u);
  EXPECT_EQ(c.stats().ranged, 7u);  // 0..4 and 6..7; send 5 had its own notification
}

TEST(ZerocopyAccountingTest, BadRangesAreRefusedAndCountNothing) {
  ErrqueueCompletions c = IssuedSends(3);
  // A notification for ids that were never issued changes nothing.
  EXPECT_FALSE(c.Notify(2, 5, /*copied=*/false).ok());
  EXPECT_EQ(c.stats().completions, 0u);
  ASSERT_TRUE(c.Notify(0, 1, /*copied=*/false).ok());
  // Completing a send twice is a bookkeeping error, not a count.
  EXPECT_FALSE(c.Notify(1, 2, /*copied=*/true).ok());
  ASSERT_TRUE(c.Notify(2, 2, /*copied=*/true).ok());
  EXPECT_EQ(c.stats().completions, 3u);
  EXPECT_EQ(c.stats().zerocopy, 2u);
  EXPECT_EQ(c.stats().copied, 1u);
  EXPECT_EQ(c.stats().ranged, 2u);
}

// The record: exact when no range was seen or a single code was; approximate when
// ranges and both codes were, since a merged range may hide the other code.
TEST(ZerocopyAccountingTest, TheRecordSaysWhenTheSplitIsApproximate) {
  ErrqueueCompletions singles = IssuedSends(2);
  ASSERT_TRUE(singles.Notify(0, 0, false).ok());
  ASSERT_TRUE(singles.Notify(1, 1, true).ok());
  nlohmann::json record = ZeroCopyJson(singles.stats());
  EXPECT_EQ(record["ranged_sends"], 0u);
  EXPECT_EQ(record["split_approximate"], false);

  ErrqueueCompletions copied_ranges = IssuedSends(4);
  ASSERT_TRUE(copied_ranges.Notify(0, 3, true).ok());
  record = ZeroCopyJson(copied_ranges.stats());
  EXPECT_EQ(record["ranged_sends"], 4u);
  EXPECT_EQ(record["split_approximate"], false);

  ErrqueueCompletions mixed = IssuedSends(5);
  ASSERT_TRUE(mixed.Notify(0, 3, false).ok());
  ASSERT_TRUE(mixed.Notify(4, 4, true).ok());
  record = ZeroCopyJson(mixed.stats());
  EXPECT_EQ(record["completions"], 5u);
  EXPECT_EQ(record["zerocopy"], 4u);
  EXPECT_EQ(record["copied"], 1u);
  EXPECT_EQ(record["ranged_sends"], 4u);
  EXPECT_EQ(record["split_approximate"], true);
}

// A connected loopback TCP pair, with the accepted side.
struct Connection {
  UniqueFd sender;
  UniqueFd receiver;
};

Connection Connect(int receiver_rcvbuf = 0) {
  Connection c;
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (receiver_rcvbuf > 0) {
    // Inherited by the accepted socket; set before the handshake so the window is small.
    ::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &receiver_rcvbuf, sizeof receiver_rcvbuf);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::listen(listener.get(), 1), 0);
  EXPECT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  c.sender.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(c.sender.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  c.receiver.Reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(c.receiver.valid());
  return c;
}

void SetSendTimeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
}

class DirectZerocopyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto info = FindStrategy(GetParam());
    ASSERT_TRUE(info.ok());
    info_ = *info;
    if (!ProbeAvailability(*info_).available)
      ZCB_SKIP_OR_FAIL_UNDER_CI(GetParam() + ": " + ProbeAvailability(*info_).reason);
    PayloadConfig config;
    config.kind = SourceKind::kMemory;
    config.max_message = kMessage;
    auto payload = PayloadSource::Create(config, pattern_);
    ASSERT_TRUE(payload.ok()) << payload.error().ToString();
    payload_ = std::move(*payload);
  }

  std::unique_ptr<SendStrategy> Create(int fd) {
    SendContext ctx;
    ctx.socket_fd = fd;
    ctx.payload = payload_.get();
    ctx.message_size = kMessage;
    auto options = Options::Parse(info_->options, {}, info_->name);
    EXPECT_TRUE(options.ok());
    ctx.options = *options;
    auto strategy = info_->create(ctx);
    EXPECT_TRUE(strategy.ok()) << strategy.error().ToString();
    return strategy.ok() ? std::move(*strategy) : nullptr;
  }

  static constexpr size_t kMessage = 64 * 1024;
  const StrategyInfo* info_ = nullptr;
  Pattern pattern_{1};
  std::unique_ptr<PayloadSource> payload_;
};

TEST_P(DirectZerocopyTest, AReceiverThatResetsTheConnectionIsAClearError) {
  Connection c = Connect();
  SetSendTimeout(c.sender.get(), 5000);
  auto strategy = Create(c.sender.get());
  ASSERT_NE(strategy, nullptr);
  ASSERT_TRUE(strategy->Send(0, kMessage).ok());
  linger lg{1, 0};  // close with RST
  ASSERT_EQ(::setsockopt(c.receiver.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  c.receiver.Reset();
  Status s = OkStatus();
  for (uint64_t i = 1; i < 64 && s.ok(); ++i) s = strategy->Send(i * kMessage, kMessage);
  if (s.ok()) s = strategy->Finish();
  ASSERT_FALSE(s.ok()) << "sending into a reset connection succeeded";
  EXPECT_TRUE(s.error().errno_value() == EPIPE || s.error().errno_value() == ECONNRESET) << s.error().ToString();
  EXPECT_NE(s.error().ToString().find("receiver closed"), std::string::npos) << s.error().ToString();
}

TEST_P(DirectZerocopyTest, FinishNamesTheCompletionsThatNeverCame) {
  // The receiver never reads and its window is tiny, so the data stays queued in the
  // sender's socket and the kernel keeps the lent buffers: Finish() must give up after
  // the socket's send timeout and say what is missing, not hang.
  Connection c = Connect(/*receiver_rcvbuf=*/4096);
  int sndbuf = 1 << 20;
  ASSERT_EQ(::setsockopt(c.sender.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  SetSendTimeout(c.sender.get(), 300);
  auto strategy = Create(c.sender.get());
  ASSERT_NE(strategy, nullptr);
  for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(strategy->Send(i * kMessage, kMessage).ok());
  Status s = strategy->Finish();
  ASSERT_FALSE(s.ok()) << "Finish() returned with buffers still lent";
  const std::string what = s.error().ToString();
  EXPECT_NE(what.find("300 ms"), std::string::npos) << what;
  EXPECT_NE(what.find("the last"), std::string::npos) << what;
  EXPECT_NE(what.find("receiver may have stopped reading"), std::string::npos) << what;
  EXPECT_LT(strategy->stats().zerocopy.completions, strategy->stats().send_calls);
}

INSTANTIATE_TEST_SUITE_P(ZeroCopyStrategies, DirectZerocopyTest, ::testing::Values("msg_zerocopy", "io_uring_send_zc"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace zcb
