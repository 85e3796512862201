// The user-space UDP/IPv4/Ethernet frame builder: checksums against known vectors and the
// frame's layout field by field.

#include "stack/udp_frame.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace zcb {
namespace {

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The checksum field as the bytes on the wire, read big-endian.
uint16_t WireValue(uint16_t stored) {
  uint8_t b[2];
  std::memcpy(b, &stored, 2);
  return Be16(b);
}

uint32_t Ip(const char* dotted) {
  in_addr a{};
  ::inet_pton(AF_INET, dotted, &a);
  return a.s_addr;
}

TEST(UdpFrameTest, Rfc1071Example) {
  // RFC 1071, section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is 220d.
  const std::vector<uint8_t> data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(WireValue(InternetChecksum(data)), 0x220d);
}

TEST(UdpFrameTest, Ipv4HeaderChecksumKnownVector) {
  // 198.18.0.1 -> 198.18.0.2, UDP, total length 115, DF, TTL 64: ae52 (computed
  // independently by summing the ten 16-bit words and folding the carries).
  std::vector<uint8_t> header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02};
  const uint16_t sum = InternetChecksum(header);
  EXPECT_EQ(WireValue(sum), 0xae52);
  // A header with its checksum in place sums to zero.
  std::memcpy(header.data() + 10, &sum, 2);
  EXPECT_EQ(InternetChecksum(header), 0);
}

TEST(UdpFrameTest, UdpChecksumKnownVectorWithAnOddLength) {
  // 198.18.0.1:40000 -> 198.18.0.2:5201, payload "zcbench!" 00 01 02 03 04 (13 bytes):
  // checksum 09b9 (computed independently from RFC 768's definition).
  std::vector<uint8_t> udp = {0x9c, 0x40, 0x14, 0x51, 0x00, 0x15, 0x00, 0x00};
  const char text[] = "zcbench!";
  udp.insert(udp.end(), text, text + 8);
  for (uint8_t b = 0; b < 5; ++b) udp.push_back(b);
  ASSERT_EQ(udp.size(), 21u);
  EXPECT_EQ(WireValue(UdpChecksum(Ip("198.18.0.1"), Ip("198.18.0.2"), udp)), 0x09b9);
}

TEST(UdpFrameTest, ChecksumOfPiecesEqualsChecksumOfTheWhole) {
  std::vector<uint8_t> data(1001);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  const uint16_t whole = InternetChecksum(data);
  // Pieces of even length, then an odd tail.
  uint64_t sum = ChecksumAdd(0, {data.data(), 6});
  sum = ChecksumAdd(sum, {data.data() + 6, 512});
  sum = ChecksumAdd(sum, {data.data() + 518, data.size() - 518});
  EXPECT_EQ(ChecksumFinish(sum), whole);
}

TEST(UdpFrameTest, ZeroChecksumIsSentAsAllOnes) {
  // Find a UDP datagram whose checksum computes to 0 by adjusting its last two bytes.
  std::vector<uint8_t> udp = {0x00, 0x07, 0x00, 0x09, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const uint32_t src = Ip("198.18.0.1"), dst = Ip("198.18.0.2");
  const uint64_t partial = ChecksumAdd(UdpPseudoHeaderSum(src, dst, udp.size()), udp);
  // Setting the last word to the complement of the folded sum makes the total 0xffff.
  const uint16_t fill = static_cast<uint16_t>(ChecksumFinish(partial));
  std::memcpy(udp.data() + 10, &fill, 2);
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(UdpPseudoHeaderSum(src, dst, udp.size()), udp)), 0);
  EXPECT_EQ(UdpChecksum(src, dst, udp), 0xffff);
}

class FrameLayoutTest : public ::testing::TestWithParam<UdpChecksumMode> {};

TEST_P(FrameLayoutTest, HeadersAreWhereTheWireExpectsThem) {
  const UdpChecksumMode mode = GetParam();
  FrameEndpoints e;
  e.source_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  e.destination_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  e.source_ip_be = Ip("198.18.0.1");
  e.destination_ip_be = Ip("198.18.0.2");
  e.source_port = 40000;
  e.destination_port = 5201;
  const size_t payload = 1472;
  std::vector<uint8_t> frame(kUdpFrameHeaders + payload);
  for (size_t i = 0; i < payload; ++i) frame[kUdpFrameHeaders + i] = static_cast<uint8_t>(i);
  ASSERT_EQ(WriteUdpFrameHeaders(frame.data(), e, 0x1234, payload, mode), frame.size());

  const uint8_t* p = frame.data();
  EXPECT_EQ(0, std::memcmp(p, e.destination_mac.data(), 6));
  EXPECT_EQ(0, std::memcmp(p + 6, e.source_mac.data(), 6));
  EXPECT_EQ(Be16(p + 12), 0x0800);
  const uint8_t* ip = p + 14;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(Be16(ip + 2), 20 + 8 + payload);
  EXPECT_EQ(Be16(ip + 4), 0x1234);
  EXPECT_EQ(Be16(ip + 6), 0x4000);  // DF, no fragment offset
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], 17);
  EXPECT_EQ(0, std::memcmp(ip + 12, &e.source_ip_be, 4));
  EXPECT_EQ(0, std::memcmp(ip + 16, &e.destination_ip_be, 4));
  EXPECT_EQ(InternetChecksum({ip, 20}), 0) << "the IPv4 header must checksum to zero";
  const uint8_t* udp = p + 34;
  EXPECT_EQ(Be16(udp), 40000);
  EXPECT_EQ(Be16(udp + 2), 5201);
  EXPECT_EQ(Be16(udp + 4), 8 + payload);
  EXPECT_EQ(udp + 8, p + kUdpFrameHeaders);

  const uint64_t pseudo = UdpPseudoHeaderSum(e.source_ip_be, e.destination_ip_be, 8 + payload);
  switch (mode) {
    case UdpChecksumMode::kSoftware:
      // Checked the way a receiver checks it: everything with the pseudo header sums to zero.
      EXPECT_NE(Be16(udp + 6), 0);
      EXPECT_EQ(ChecksumFinish(ChecksumAdd(pseudo, {udp, 8 + payload})), 0);
      break;
    case UdpChecksumMode::kOffload: {
      // Completing the partial checksum, as a device does, gives the real one.
      uint16_t field;
      std::memcpy(&field, udp + 6, 2);
      EXPECT_EQ(field, static_cast<uint16_t>(~ChecksumFinish(pseudo)));
      std::vector<uint8_t> copy(udp, udp + 8 + payload);
      const uint16_t completed = ChecksumFinish(ChecksumAdd(0, copy));
      std::memcpy(copy.data() + 6, &completed, 2);
      EXPECT_EQ(ChecksumFinish(ChecksumAdd(pseudo, copy)), 0);
      break;
    }
    case UdpChecksumMode::kNone:
      EXPECT_EQ(Be16(udp + 6), 0);
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(AllModes, FrameLayoutTest,
                         ::testing::Values(UdpChecksumMode::kSoftware, UdpChecksumMode::kOffload,
                                           UdpChecksumMode::kNone),
                         [](const auto& info) { return std::string(ToString(info.param)); });

}  // namespace
}  // namespace zcb
