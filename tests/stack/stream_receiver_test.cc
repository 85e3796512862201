// The TCP receiver's low-water mark: what it is asked for is what the socket has while it
// reads (read back with getsockopt), in every receiver mode, and what it cannot take is
// refused before anything is read.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "stack/stream_receiver.h"
#include "stack/unique_fd.h"
#include "tests/tcp_pair.h"

namespace zcb {
namespace {

using testing::TcpPair;
TcpPair Connect() { return testing::ConnectLoopback(); }

int LowWaterOf(int fd) {
  int value = 0;
  socklen_t len = sizeof value;
  EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, &len), 0);
  return value;
}

struct Received {
  ReceiveStats stats;
  int rcvlowat = 0;  // the socket's SO_RCVLOWAT after the receiver ran
};

// Sends `bytes` of the pattern through a loopback pair to a receiver made with `low_water`.
Received ReceiveThrough(ReceiverMode mode, LowWaterRequest low_water, uint64_t bytes) {
  Pattern pattern(3);
  auto receiver = StreamReceiver::Create(mode, pattern, low_water);
  EXPECT_TRUE(receiver.ok()) << receiver.error().what();
  TcpPair pair = Connect();
  std::thread sender([&] {
    std::vector<uint8_t> chunk(64 << 10);
    for (uint64_t offset = 0; offset < bytes;) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(chunk.size(), bytes - offset));
      pattern.Fill(offset, {chunk.data(), len});
      const ssize_t n = ::send(pair.sending.get(), chunk.data(), len, MSG_NOSIGNAL);
      if (n <= 0) break;
      offset += static_cast<uint64_t>(n);
    }
    ::shutdown(pair.sending.get(), SHUT_WR);
  });
  const Status run = receiver->Run(pair.receiving.get());
  sender.join();
  EXPECT_TRUE(run.ok()) << run.error().what();
  return {receiver->stats(), LowWaterOf(pair.receiving.get())};
}

TEST(StreamReceiverLowWaterTest, EachModeSetsTheMarkItIsAskedFor) {
  const uint64_t bytes = 8u << 20;
  for (ReceiverMode mode : {ReceiverMode::kVerify, ReceiverMode::kRead, ReceiverMode::kDiscard}) {
    const Received r = ReceiveThrough(mode, {128 << 10}, bytes);
    EXPECT_EQ(r.rcvlowat, 128 << 10) << ToString(mode);
    EXPECT_EQ(r.stats.bytes_received, bytes) << ToString(mode);
    // Every recv() but the one at the end of the stream waited for 128 KiB.
    EXPECT_LE(r.stats.recv_calls, bytes / (128 << 10) + 2) << ToString(mode);
    EXPECT_GE(r.stats.recv_calls, 2u) << ToString(mode);
  }
}

TEST(StreamReceiverLowWaterTest, DefaultsFollowTheMode) {
  EXPECT_EQ(ReceiveThrough(ReceiverMode::kDiscard, {}, 1 << 20).rcvlowat, StreamReceiver::kDiscardLowWater);
  EXPECT_EQ(ReceiveThrough(ReceiverMode::kRead, {}, 1 << 20).rcvlowat, 1);
  // Asked for 1, discard wakes for every byte, like a receiver that sets nothing.
  EXPECT_EQ(ReceiveThrough(ReceiverMode::kDiscard, {1}, 1 << 20).rcvlowat, 1);
  EXPECT_EQ(StreamReceiver::SettingsFor(ReceiverMode::kDiscard, {1}).rcvlowat, 1);
  EXPECT_EQ(StreamReceiver::SettingsFor(ReceiverMode::kRead, {64 << 10}).rcvlowat, 64 << 10);
}

TEST(StreamReceiverLowWaterTest, AMarkTheSenderWouldWaitForIsLeftOffAndSaysWhy) {
  const ReceiverSettings s = StreamReceiver::SettingsFor(ReceiverMode::kRead, {256 << 10, false});
  EXPECT_EQ(s.rcvlowat, 1);
  EXPECT_FALSE(s.rcvlowat_reason.empty());
  EXPECT_EQ(ReceiveThrough(ReceiverMode::kRead, {256 << 10, false}, 1 << 20).rcvlowat, 1);
}

// discard waits in poll() and takes what is queued without blocking, so that the socket
// is owned only while bytes are taken; the copying modes block in recv(); zerocopy polls
// before each mapping.
TEST(StreamReceiverWaitTest, DiscardAndZeroCopyPollTheCopyingModesBlockInRecv) {
  EXPECT_TRUE(StreamReceiver::SettingsFor(ReceiverMode::kDiscard, {}).poll_before_recv);
  EXPECT_TRUE(StreamReceiver::SettingsFor(ReceiverMode::kDiscard, {1}).poll_before_recv);
  EXPECT_TRUE(StreamReceiver::SettingsFor(ReceiverMode::kZeroCopy, {}).poll_before_recv);
  EXPECT_FALSE(StreamReceiver::SettingsFor(ReceiverMode::kRead, {}).poll_before_recv);
  EXPECT_FALSE(StreamReceiver::SettingsFor(ReceiverMode::kVerify, {}).poll_before_recv);
}

// A polling receiver gives up when a blocking recv() would: at the socket's SO_RCVTIMEO,
// with what it received so far.
TEST(StreamReceiverWaitTest, APollingReceiverStopsAtTheReceiveTimeout) {
  Pattern pattern(3);
  auto receiver = StreamReceiver::Create(ReceiverMode::kDiscard, pattern);
  ASSERT_TRUE(receiver.ok()) << receiver.error().what();
  TcpPair pair = Connect();
  timeval tv{0, 200 * 1000};
  ASSERT_EQ(::setsockopt(pair.receiving.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  std::vector<uint8_t> chunk(100 << 10);
  pattern.Fill(0, {chunk.data(), chunk.size()});
  ASSERT_EQ(::send(pair.sending.get(), chunk.data(), chunk.size(), 0), static_cast<ssize_t>(chunk.size()));
  const auto start = std::chrono::steady_clock::now();
  const Status run = receiver->Run(pair.receiving.get());
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(run.ok());
  EXPECT_NE(std::string(run.error().what()).find("no data for the receive timeout"), std::string::npos)
      << run.error().what();
  EXPECT_EQ(receiver->stats().bytes_received, chunk.size());
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(StreamReceiverLowWaterTest, AMarkOutOfRangeIsRefused) {
  Pattern pattern(3);
  for (int bytes : {0, -1, StreamReceiver::kMaxLowWater + 1}) {
    auto receiver = StreamReceiver::Create(ReceiverMode::kRead, pattern, {bytes});
    ASSERT_FALSE(receiver.ok()) << bytes;
    EXPECT_NE(std::string(receiver.error().what()).find("low-water mark"), std::string::npos)
        << receiver.error().what();
  }
}

}  // namespace
}  // namespace zcb
