// Fuzz target: the user-space UDP/IPv4/Ethernet frame code (stack/udp_frame.h), checked
// the way a receiving host checks a frame. From the input: the endpoints, the IP id, the
// checksum mode, the UDP payload and its length (up to the UDP/IPv4 limit). The frame's
// length fields must say its length, the IPv4 header must sum to zero, and a software UDP
// checksum must verify over the pseudo header and every byte; an offloaded one must be
// completed by the sum of what follows it. A running sum split at any even offset equals
// the sum in one piece.

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "stack/udp_frame.h"
#include "stack/udp_limits.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// libFuzzer's bytes, read from the front; zeros once they run out.
struct Reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  uint8_t Byte() { return at < size ? data[at++] : 0; }
  template <typename T>
  T Take() {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v << 8 | Byte());
    return v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  zcb::FrameEndpoints e;
  for (auto& b : e.source_mac) b = in.Byte();
  for (auto& b : e.destination_mac) b = in.Byte();
  e.source_ip_be = in.Take<uint32_t>();
  e.destination_ip_be = in.Take<uint32_t>();
  e.source_port = in.Take<uint16_t>();
  e.destination_port = in.Take<uint16_t>();
  const uint16_t ip_id = in.Take<uint16_t>();
  constexpr zcb::UdpChecksumMode kModes[] = {zcb::UdpChecksumMode::kSoftware, zcb::UdpChecksumMode::kOffload,
                                             zcb::UdpChecksumMode::kNone};
  const zcb::UdpChecksumMode mode = kModes[in.Byte() % 3];
  const size_t payload_length = in.Take<uint16_t>() % (zcb::kMaxUdpPayloadIpv4 + 1);
  // The payload: the rest of the input, repeated to its length.
  static std::vector<uint8_t> frame(zcb::kUdpFrameHeaders + zcb::kMaxUdpPayloadIpv4);
  uint8_t* payload = frame.data() + zcb::kUdpFrameHeaders;
  const size_t left = size - std::min(size, in.at);
  for (size_t i = 0; i < payload_length; ++i) payload[i] = left == 0 ? 0 : data[in.at + i % left];

  const size_t length = zcb::WriteUdpFrameHeaders(frame.data(), e, ip_id, payload_length, mode);
  if (length != zcb::kUdpFrameHeaders + payload_length) zcb::fuzz::Broken("the frame length");
  const uint8_t* ip = frame.data() + zcb::kEthernetHeaderSize;
  const uint8_t* udp = ip + 20;
  const size_t udp_length = 8 + payload_length;
  if (ntohs(Load16(ip + 2)) != 20 + udp_length || ntohs(Load16(udp + 4)) != udp_length)
    zcb::fuzz::Broken("the IPv4 or UDP length field");
  if (zcb::InternetChecksum({ip, 20}) != 0) zcb::fuzz::Broken("the IPv4 header checksum");
  const uint16_t field = Load16(udp + zcb::kUdpChecksumOffset);
  const uint64_t pseudo = zcb::UdpPseudoHeaderSum(e.source_ip_be, e.destination_ip_be, udp_length);
  switch (mode) {
    case zcb::UdpChecksumMode::kSoftware:
      // With its checksum in place the datagram sums to zero (0xffff stands for 0).
      if (field == 0 || zcb::ChecksumFinish(zcb::ChecksumAdd(pseudo, {udp, udp_length})) != 0)
        zcb::fuzz::Broken("the software UDP checksum");
      break;
    case zcb::UdpChecksumMode::kOffload: {
      // Completing it as a device does: the sum from the UDP header on, seeded with the field.
      std::vector<uint8_t> copy(udp, udp + udp_length);
      const uint16_t completed = zcb::ChecksumFinish(zcb::ChecksumAdd(0, copy));
      std::memcpy(copy.data() + zcb::kUdpChecksumOffset, &completed, 2);
      if (zcb::ChecksumFinish(zcb::ChecksumAdd(pseudo, copy)) != 0) zcb::fuzz::Broken("the offloaded UDP checksum");
      break;
    }
    case zcb::UdpChecksumMode::kNone:
      if (field != 0) zcb::fuzz::Broken("a UDP checksum without checksum");
      break;
  }
  // Pieces at an even split sum as the whole.
  const size_t split = std::min(udp_length, size_t{ip_id} * 2);
  const uint64_t whole = zcb::ChecksumAdd(0, {udp, udp_length});
  const uint64_t pieces = zcb::ChecksumAdd(zcb::ChecksumAdd(0, {udp, split}), {udp + split, udp_length - split});
  if (zcb::ChecksumFinish(whole) != zcb::ChecksumFinish(pieces)) zcb::fuzz::Broken("a sum in two pieces");
  return 0;
}
