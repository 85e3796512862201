// The zcbench datagram format, the sender's datagram ring, the sequence tracker and the
// UDP receiver's per-datagram accounting.

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "stack/datagram.h"
#include "stack/datagram_receiver.h"

namespace zcb {
namespace {

constexpr uint32_t kFlow = 0x5a5a1234;

std::vector<uint8_t> Datagram(const Pattern& pattern, uint64_t sequence, size_t size, uint32_t flow = kFlow) {
  std::vector<uint8_t> d(size);
  FillDatagram(pattern, flow, sequence, d);
  return d;
}

TEST(DatagramTest, HeaderRoundTripsAndPayloadFollowsThePattern) {
  Pattern pattern(5);
  const auto d = Datagram(pattern, 123456789012ull, 1472);
  const DatagramHeaderView view = ParseDatagramHeader(d, d.size(), kFlow);
  EXPECT_TRUE(view.well_formed);
  EXPECT_EQ(view.sequence, 123456789012ull);
  EXPECT_EQ(view.sequence_bits, 64u);
  EXPECT_EQ(view.payload_length, 1472u - kDatagramHeaderSize);
  EXPECT_EQ(pattern.FindMismatch(DatagramPayloadOffset(123456789012ull), {d.data() + 16, d.size() - 16}), -1);
}

TEST(DatagramTest, PayloadsOfNeighbouringSequencesDiffer) {
  Pattern pattern(5);
  const auto a = Datagram(pattern, 10, 200), b = Datagram(pattern, 11, 200),
             c = Datagram(pattern, 10 + kPayloadPhases, 200);
  EXPECT_NE(0, std::memcmp(a.data() + 16, b.data() + 16, 184));
  EXPECT_EQ(0, std::memcmp(a.data() + 16, c.data() + 16, 184)) << "the payload phase repeats every kPayloadPhases";
}

TEST(DatagramTest, ForeignFlowAndWrongLengthAreMalformed) {
  Pattern pattern(5);
  const auto d = Datagram(pattern, 7, 100);
  EXPECT_FALSE(ParseDatagramHeader(d, d.size(), kFlow + 1).well_formed);
  // The same bytes presented as a datagram of another length (truncated, or padded).
  EXPECT_FALSE(ParseDatagramHeader(d, 99, kFlow).well_formed);
  EXPECT_FALSE(ParseDatagramHeader(d, 101, kFlow).well_formed);
}

TEST(DatagramTest, DatagramsShorterThanTheHeaderCarryItsFirstBytes) {
  Pattern pattern(5);
  for (size_t size = 1; size < kDatagramHeaderSize; ++size) {
    const uint64_t sequence = 0x0102030405060708ull;
    const auto d = Datagram(pattern, sequence, size);
    const DatagramHeaderView view = ParseDatagramHeader(d, size, kFlow);
    EXPECT_TRUE(view.well_formed) << size;
    const unsigned bits = static_cast<unsigned>(std::min<size_t>(size, 8) * 8);
    EXPECT_EQ(view.sequence_bits, bits) << size;
    EXPECT_EQ(view.sequence, bits == 64 ? sequence : sequence & ((uint64_t{1} << bits) - 1)) << size;
    if (size > 8) {
      EXPECT_FALSE(ParseDatagramHeader(d, size, kFlow ^ 0xff).well_formed) << size;
    }
  }
}

TEST(DatagramRingTest, PrepareGivesTheSameBytesAsFillForEverySource) {
  Pattern pattern(9, 64 * 1024);
  for (SourceKind source : {SourceKind::kMemory, SourceKind::kGenerated}) {
    auto ring = DatagramRing::Create(pattern, kFlow, source, 1500, 10);
    ASSERT_TRUE(ring.ok()) << ring.error().ToString();
    EXPECT_EQ(ring->slot_count() % kPayloadPhases, 0u);
    EXPECT_GE(ring->slot_count(), 10u);
    for (uint64_t seq : {0ull, 1ull, 63ull, 64ull, 1000ull, 123457ull}) {
      for (size_t size : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{999}, size_t{1500}}) {
        const uint8_t* data = ring->Prepare(seq, size);
        EXPECT_EQ(0, std::memcmp(data, Datagram(pattern, seq, size).data(), size)) << "seq " << seq << " size " << size;
      }
    }
  }
}

TEST(DatagramRingTest, RunsOfAFullCallAreContiguous) {
  Pattern pattern(9);
  const size_t run = 45;  // 65507 / 1472 rounded up: a UDP_SEGMENT call's datagrams
  auto ring = DatagramRing::Create(pattern, kFlow, SourceKind::kMemory, 1472, run, run);
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->slot_count() % run, 0u);
  EXPECT_EQ(ring->slot_count() % kPayloadPhases, 0u);
  for (uint64_t call = 0; call < 3 * ring->slot_count() / run; ++call) {
    const uint64_t first = call * run;
    EXPECT_LE(ring->SlotOf(first) + run, ring->slot_count());
    const uint8_t* start = ring->Prepare(first, 1472);
    for (size_t i = 1; i < run; ++i) EXPECT_EQ(ring->Prepare(first + i, 1472), start + i * 1472);
  }
}

TEST(DatagramRingTest, ScribbledSlotIsRestoredByTheNextPrepare) {
  Pattern pattern(9);
  auto ring = DatagramRing::Create(pattern, kFlow, SourceKind::kMemory, 256, 1);
  ASSERT_TRUE(ring.ok());
  const uint8_t* data = ring->Prepare(3, 256);
  ring->Scribble(3, 256);
  EXPECT_NE(0, std::memcmp(data, Datagram(pattern, 3, 256).data(), 256));
  const uint64_t next = 3 + ring->slot_count();  // the same slot
  data = ring->Prepare(next, 256);
  EXPECT_EQ(0, std::memcmp(data, Datagram(pattern, next, 256).data(), 256));
}

TEST(DatagramRingTest, GatesAreKeptPerSlot) {
  Pattern pattern(9);
  auto ring = DatagramRing::Create(pattern, kFlow, SourceKind::kMemory, 100, 1);
  ASSERT_TRUE(ring.ok());
  EXPECT_FALSE(ring->PendingGate(5));
  ring->Lent(5, 42);
  EXPECT_EQ(ring->PendingGate(5 + ring->slot_count()), 42u);
  ring->Released(5);
  EXPECT_FALSE(ring->PendingGate(5));
}

TEST(DatagramRingTest, RejectsAFileSource) {
  Pattern pattern(9);
  EXPECT_FALSE(DatagramRing::Create(pattern, kFlow, SourceKind::kFile, 100, 1).ok());
}

TEST(SequenceTrackerTest, CountsNewReorderedDuplicateAndStale) {
  SequenceTracker t(1024);
  using A = SequenceTracker::Arrival;
  EXPECT_EQ(t.Record(0), A::kNew);
  EXPECT_EQ(t.Record(1), A::kNew);
  EXPECT_EQ(t.Record(3), A::kNew);
  EXPECT_EQ(t.Record(2), A::kReordered);
  EXPECT_EQ(t.Record(2), A::kDuplicate);
  EXPECT_EQ(t.Record(3), A::kDuplicate);
  EXPECT_EQ(t.Record(5000), A::kNew);
  EXPECT_EQ(t.Record(4), A::kStale);  // from further back than the window
  EXPECT_EQ(t.Record(4999), A::kReordered);
  EXPECT_EQ(t.received(), 6u);
  EXPECT_EQ(t.duplicated(), 2u);
  EXPECT_EQ(t.reordered(), 2u);
  EXPECT_EQ(t.stale(), 1u);
  EXPECT_EQ(t.highest(), 5000u);
}

TEST(SequenceTrackerTest, ForgetsNumbersThatLeftTheWindow) {
  using A = SequenceTracker::Arrival;
  SequenceTracker t(64);
  for (uint64_t s = 0; s < 1000; ++s) ASSERT_EQ(t.Record(s), A::kNew) << s;
  EXPECT_EQ(t.Record(1063), A::kNew);        // 1000 .. 1062 are now unseen numbers of the window
  EXPECT_EQ(t.Record(1000), A::kReordered);  // its bit was reused by 936 and cleared
  EXPECT_EQ(t.Record(1000), A::kDuplicate);
  EXPECT_EQ(t.Record(999), A::kStale);  // 64 below the highest: out of the window
  EXPECT_EQ(t.Record(1064), A::kNew);   // takes the bit of 1000
  EXPECT_EQ(t.Record(1001), A::kReordered);
}

// The tracker against a plain model (every number seen, and the highest) over arrivals that
// jump forward by every distance from 1 to past the window, across word and ring boundaries.
TEST(SequenceTrackerTest, AgreesWithAModelOverRandomJumps) {
  using A = SequenceTracker::Arrival;
  for (const uint64_t window : {uint64_t{64}, uint64_t{256}, uint64_t{4096}}) {
    SequenceTracker t(window);
    std::set<uint64_t> seen;
    uint64_t highest = 0;
    std::mt19937_64 random(window);
    for (int i = 0; i < 20000; ++i) {
      uint64_t s;
      switch (random() % 4) {
        case 0:
          s = highest + 1 + random() % (window + window / 2);
          break;  // forward, maybe past the window
        case 1:
          s = highest + 1 + random() % 130;
          break;  // forward, a few words
        case 2:
          s = highest - std::min<uint64_t>(highest, random() % (window + 8));
          break;  // back, maybe stale
        default:
          s = highest - std::min<uint64_t>(highest, random() % 70);
          break;  // recent: duplicates
      }
      A expected;
      if (i == 0 || s > highest) {
        expected = A::kNew;
      } else if (highest - s >= window) {
        expected = A::kStale;
      } else {
        expected = seen.count(s) ? A::kDuplicate : A::kReordered;
      }
      ASSERT_EQ(t.Record(s), expected) << "window " << window << ", arrival " << i << ": " << s << " (highest "
                                       << highest << ")";
      if (expected != A::kStale) seen.insert(s);
      if (i == 0 || s > highest) highest = s;
      // The model forgets what left the window, as the tracker does.
      while (!seen.empty() && highest - *seen.begin() >= window) seen.erase(seen.begin());
    }
  }
}

// A sender that jumps almost a whole window forward with every datagram must not cost the
// receiver a window's worth of work per datagram (a million bit operations each, before the
// unseen numbers were cleared a word at a time). 4096 such jumps: well under a second even in
// a sanitizer build; bit by bit they took minutes.
TEST(SequenceTrackerTest, ALongJumpCostsWordsNotBits) {
  SequenceTracker t;
  const uint64_t jump = SequenceTracker::kDefaultWindow - 1;
  const auto started = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < 4096; ++i) ASSERT_EQ(t.Record(i * jump), SequenceTracker::Arrival::kNew);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(t.Record(4095 * jump - 1), SequenceTracker::Arrival::kReordered);
}

// The skipped numbers up to the largest sequence number: the clearing must end (it once
// wrapped past 2^64 - 1 and went on for ever; found by the datagram fuzz target).
TEST(SequenceTrackerTest, AJumpToTheLargestSequenceNumberEnds) {
  using A = SequenceTracker::Arrival;
  SequenceTracker t(1024);
  const uint64_t top = ~uint64_t{0};
  EXPECT_EQ(t.Record(top - 700), A::kNew);
  EXPECT_EQ(t.Record(top), A::kNew);
  EXPECT_EQ(t.Record(top - 1), A::kReordered);
  EXPECT_EQ(t.Record(top - 700), A::kDuplicate);
}

TEST(SequenceTrackerTest, ExtendsShortSequenceNumbersAcrossWraps) {
  SequenceTracker t;
  EXPECT_EQ(t.Extend(5, 8), 5u);  // before any arrival
  for (uint64_t s = 0; s <= 300; ++s) t.Record(s);
  EXPECT_EQ(t.Extend(301 & 0xff, 8), 301u);
  EXPECT_EQ(t.Extend(290 & 0xff, 8), 290u);  // late
  EXPECT_EQ(t.Extend(0x20, 8), 0x120u);      // 288, just behind
  t.Record(510);
  EXPECT_EQ(t.Extend(513 & 0xff, 8), 513u);  // across the 512 boundary
  EXPECT_EQ(t.Extend(0x12345678, 64), 0x12345678u);
}

class ReceiverAccountingTest : public ::testing::Test {
 protected:
  Result<DatagramReceiver> Make(ReceiverMode mode) {
    DatagramReceiverConfig config;
    config.mode = mode;
    config.flow_id = kFlow;
    return DatagramReceiver::Create(config, pattern_);
  }
  Pattern pattern_{11};
};

TEST_F(ReceiverAccountingTest, VerifiesEachDatagramOnItsOwnAndCatchesACorruptByte) {
  auto rx = Make(ReceiverMode::kVerify);
  ASSERT_TRUE(rx.ok());
  for (uint64_t s : {0ull, 1ull, 3ull, 2ull, 2ull}) {
    auto d = Datagram(pattern_, s, 1000);
    rx->Account(d.data(), d.size(), d.size());
  }
  auto bad = Datagram(pattern_, 4, 1000);
  bad[700] ^= 0x40;
  rx->Account(bad.data(), bad.size(), bad.size());
  // Run() fills the counts at its end; Account() alone updates the integrity figures.
  const DatagramReceiveStats& s = rx->stats();
  EXPECT_EQ(s.corrupt, 1u);
  EXPECT_EQ(s.first_corrupt_sequence, 4u);
  EXPECT_EQ(s.integrity.first_mismatch_offset, 700u);
  EXPECT_EQ(s.integrity.mismatches, 1u);
  EXPECT_EQ(s.integrity.verified_bytes, 4u * 1000);  // 0, 1, 3, 2; not the duplicate, not 4
  EXPECT_EQ(s.unique_bytes, 5u * 1000);
  EXPECT_EQ(s.bytes_received, 6u * 1000);
}

TEST_F(ReceiverAccountingTest, ForeignAndEmptyDatagramsAreNotCountedAsReceived) {
  auto rx = Make(ReceiverMode::kVerify);
  ASSERT_TRUE(rx.ok());
  auto foreign = Datagram(pattern_, 0, 100, kFlow ^ 1);
  rx->Account(foreign.data(), foreign.size(), foreign.size());
  rx->Account(nullptr, 0, 0);
  EXPECT_EQ(rx->stats().malformed, 1u);
  EXPECT_EQ(rx->stats().empty, 1u);
  EXPECT_EQ(rx->stats().unique_bytes, 0u);
  EXPECT_EQ(rx->stats().integrity.mismatches, 100u);
}

TEST_F(ReceiverAccountingTest, DiscardModeCountsFromTheHeaderAlone) {
  auto rx = Make(ReceiverMode::kDiscard);
  ASSERT_TRUE(rx.ok());
  auto d = Datagram(pattern_, 9, 5000);
  d[4000] ^= 1;  // not looked at
  rx->Account(d.data(), kDatagramHeaderSize, d.size());
  EXPECT_EQ(rx->stats().unique_bytes, 5000u);
  EXPECT_EQ(rx->stats().corrupt, 0u);
  EXPECT_EQ(rx->stats().integrity.verified_bytes, 0u);
}

// A real socket: GSO datagrams to a UDP_GRO receiver arrive coalesced and are split.
TEST(DatagramReceiverSocketTest, SplitsGroBuffersAndEndsWhenAllArrived) {
  Pattern pattern(3);
  for (ReceiverMode mode : {ReceiverMode::kVerify, ReceiverMode::kDiscard}) {
    DatagramReceiverConfig config;
    config.mode = mode;
    config.gro = true;
    config.flow_id = kFlow;
    auto rx = DatagramReceiver::Create(config, pattern);
    ASSERT_TRUE(rx.ok());
    sockaddr_storage addr{};
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto fd = rx->OpenSocket(addr);
    ASSERT_TRUE(fd.ok()) << fd.error().ToString();
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);

    // 3 calls of 10 segments of 1000 bytes, the last segment of each 500 bytes.
    const size_t segment = 1000, per_call = 9 * 1000 + 500;
    std::vector<uint8_t> buffer(per_call);
    int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_EQ(::connect(tx, reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)), 0);
    const int gso = static_cast<int>(segment);
    ASSERT_EQ(::setsockopt(tx, SOL_UDP, UDP_SEGMENT, &gso, sizeof gso), 0);
    uint64_t seq = 0;
    for (int call = 0; call < 3; ++call) {
      for (size_t at = 0; at < per_call; at += segment) {
        const size_t n = std::min(segment, per_call - at);
        FillDatagram(pattern, kFlow, seq++, {buffer.data() + at, n});
      }
      ASSERT_EQ(::send(tx, buffer.data(), buffer.size(), 0), static_cast<ssize_t>(buffer.size()));
    }
    ::close(tx);
    DatagramEnd end;
    end.datagrams_sent = seq;
    end.sender_done = true;
    ASSERT_TRUE(rx->Run(fd->get(), end).ok());
    const DatagramReceiveStats& s = rx->stats();
    EXPECT_TRUE(s.all_arrived);
    EXPECT_EQ(s.datagrams_received, 30u);
    EXPECT_EQ(s.duplicated + s.reordered + s.malformed + s.corrupt, 0u);
    EXPECT_EQ(s.unique_bytes, 3 * per_call);
    EXPECT_GT(s.coalesced_buffers, 0u) << "loopback hands a GSO buffer to a UDP_GRO socket whole";
    if (mode == ReceiverMode::kVerify) {
      EXPECT_EQ(s.integrity.verified_bytes, 3 * per_call);
    }
  }
}

}  // namespace
}  // namespace zcb
