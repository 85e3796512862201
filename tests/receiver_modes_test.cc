// The receiver modes: what each one does with the bytes, seen in the record.

#include <gtest/gtest.h>

#include "stack/registry.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

nlohmann::json RunWith(const std::string& strategy, ReceiverMode mode, uint64_t bytes) {
  TrialSpec spec = testing::VerifiedStream(strategy, bytes);
  spec.receiver = mode;
  return testing::RunOrFail(spec);
}

TEST(ReceiverModesTest, ReadAndDiscardCountBytesWithoutChecking) {
  for (ReceiverMode mode : {ReceiverMode::kRead, ReceiverMode::kDiscard}) {
    nlohmann::json r = RunWith("write", mode, (4u << 20) + 17);
    ASSERT_EQ(r["status"], "ok") << r["error"];
    EXPECT_EQ(r["metrics"]["bytes_received"].get<uint64_t>(), (4u << 20) + 17);
    EXPECT_EQ(r["metrics"]["integrity"]["mode"], ToString(mode));
    EXPECT_EQ(r["metrics"]["integrity"]["verified_bytes"].get<uint64_t>(), 0u);
  }
}

// discard drops at least 64 KiB per recv() (SO_RCVLOWAT) and at most 2 MiB, like the
// receiver of the kernel's msg_zerocopy selftest, and the record says so.
TEST(ReceiverModesTest, DiscardDropsAtLeastTheLowWaterPerCall) {
  const uint64_t bytes = 64u << 20;
  nlohmann::json r = RunWith("write", ReceiverMode::kDiscard, bytes);
  ASSERT_EQ(r["status"], "ok") << r["error"];
  const uint64_t calls = r["metrics"]["recv_calls"].get<uint64_t>();
  // Every call but the one that reads the end of the stream waits for 64 KiB.
  EXPECT_LE(calls, bytes / (64 << 10) + 2);
  EXPECT_GE(calls, bytes / (2 << 20) + 1);
  EXPECT_EQ(r["params"]["receiver_settings"]["recv_bytes"].get<uint64_t>(), 2u << 20);
  EXPECT_EQ(r["params"]["receiver_settings"]["rcvlowat"].get<int>(), 64 << 10);
  EXPECT_FALSE(r["params"]["receiver_settings"].contains("rcvlowat_reason"));
  EXPECT_EQ(r["params"]["receiver_settings"]["wait"], "poll");
}

// discard waits for its bytes in poll() and takes them with a non-blocking recv(), as the
// msg_zerocopy selftest's and liburing's send-zerocopy's receivers do; read and verify
// block in recv(), as netperf's does. The record names which.
TEST(ReceiverModesTest, TheRecordSaysHowTheReceiverWaits) {
  for (ReceiverMode mode : {ReceiverMode::kRead, ReceiverMode::kVerify, ReceiverMode::kDiscard}) {
    nlohmann::json r = RunWith("write", mode, 1u << 20);
    ASSERT_EQ(r["status"], "ok") << r["error"];
    EXPECT_EQ(r["params"]["receiver_settings"]["wait"], mode == ReceiverMode::kDiscard ? "poll" : "recv")
        << ToString(mode);
  }
}

// --rcvlowat sets the receiver's low-water mark in any mode: the record holds it in
// receiver_settings and in the point's key, and the receiver reads at least that much per
// call (at most 1 byte: as often as the data comes).
TEST(ReceiverModesTest, ALowWaterMarkAskedForIsUsedAndRecorded) {
  const uint64_t bytes = 32u << 20;
  TrialSpec spec = testing::VerifiedStream("write", bytes);
  spec.receiver = ReceiverMode::kRead;
  spec.rcvlowat = 256 << 10;
  nlohmann::json r = testing::RunOrFail(spec);
  ASSERT_EQ(r["status"], "ok") << r["error"];
  EXPECT_EQ(r["params"]["receiver_settings"]["rcvlowat"].get<int>(), 256 << 10);
  EXPECT_NE(r["point"].get<std::string>().find(",rcvlowat=262144"), std::string::npos) << r["point"];
  EXPECT_LE(r["metrics"]["recv_calls"].get<uint64_t>(), bytes / (256 << 10) + 2);

  spec.receiver = ReceiverMode::kDiscard;
  spec.rcvlowat = 1;
  r = testing::RunOrFail(spec);
  ASSERT_EQ(r["status"], "ok") << r["error"];
  EXPECT_EQ(r["params"]["receiver_settings"]["rcvlowat"].get<int>(), 1);
  EXPECT_FALSE(r["params"]["receiver_settings"].contains("rcvlowat_reason"));
  EXPECT_EQ(r["metrics"]["bytes_received"].get<uint64_t>(), bytes);
}

// A sender that waits until the receiver has read its bytes (vmsplice rewriting the
// generated ring) would wait for a receiver that waits for more bytes: discard reads
// without the low-water mark then, and the record says why.
TEST(ReceiverModesTest, DiscardWithoutLowWaterWhenTheSenderWaitsForTheReader) {
  auto info = FindStrategy("vmsplice");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE((*info)->caps.waits_for_reader);
  TrialSpec spec = testing::VerifiedStream("vmsplice", (1u << 20) + 1, 4096);
  spec.receiver = ReceiverMode::kDiscard;
  spec.source = SourceKind::kGenerated;
  nlohmann::json r = testing::RunOrFail(spec);
  ASSERT_EQ(r["status"], "ok") << r["error"];
  EXPECT_EQ(r["metrics"]["bytes_received"].get<uint64_t>(), (1u << 20) + 1);
  EXPECT_EQ(r["params"]["receiver_settings"]["rcvlowat"].get<int>(), 1);
  EXPECT_TRUE(r["params"]["receiver_settings"].contains("rcvlowat_reason"));
}

// TCP_ZEROCOPY_RECEIVE maps only whole pages that arrive as page frags: a plain write()
// sender's data is copied into linear skbs on loopback, so nothing is mapped (measured
// on the development kernel; the test asserts what the record says, not a count).
TEST(ReceiverModesTest, ZeroCopyReceiveVerifiesEveryByteAndSaysHowItArrived) {
  nlohmann::json r = RunWith("write", ReceiverMode::kZeroCopy, 32u << 20);
  testing::ExpectVerified(r, 32u << 20);
  const auto& z = r["metrics"]["receive_zerocopy"];
  EXPECT_EQ(z["mapped_bytes"].get<uint64_t>() + z["copied_bytes"].get<uint64_t>(), 32u << 20);
}

// With a MSG_ZEROCOPY sender the payload pages travel as frags and most of them are mapped.
TEST(ReceiverModesTest, ZeroCopyReceiveMapsPagesFromAZeroCopySender) {
  ZCB_SKIP_IF_UNAVAILABLE("msg_zerocopy");
  TrialSpec spec = testing::VerifiedStream("msg_zerocopy", 64u << 20, 256 * 1024);
  spec.receiver = ReceiverMode::kZeroCopy;
  nlohmann::json r = testing::RunOrFail(spec);
  testing::ExpectVerified(r, 64u << 20);
  const auto& z = r["metrics"]["receive_zerocopy"];
  // "Most": more than half (92-100 % were seen on loopback).
  EXPECT_GT(z["mapped_bytes"].get<uint64_t>(), 32u << 20) << z.dump();
  EXPECT_EQ(z["mapped_bytes"].get<uint64_t>() + z["copied_bytes"].get<uint64_t>(), 64u << 20);
}

}  // namespace
}  // namespace zcb
