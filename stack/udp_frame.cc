#include "stack/udp_frame.h"

#include <arpa/inet.h>

#include <cstring>

namespace zcb {

uint64_t ChecksumAdd(uint64_t sum, std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  // 32-bit words into a 64-bit accumulator: no carry is lost before the fold for any
  // length a frame can have, and the compiler vectorises the loop.
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd last byte is the first byte of a word padded with a zero byte.
    uint8_t pad[2] = {p[0], 0};
    uint16_t w;
    std::memcpy(&w, pad, 2);
    sum += w;
  }
  return sum;
}

uint16_t ChecksumFinish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint64_t UdpPseudoHeaderSum(uint32_t source_ip_be, uint32_t destination_ip_be, size_t udp_length) {
  uint8_t pseudo[12];
  std::memcpy(pseudo, &source_ip_be, 4);
  std::memcpy(pseudo + 4, &destination_ip_be, 4);
  pseudo[8] = 0;
  pseudo[9] = kIpProtoUdp;
  const uint16_t len_be = htons(static_cast<uint16_t>(udp_length));
  std::memcpy(pseudo + 10, &len_be, 2);
  return ChecksumAdd(0, pseudo);
}

uint16_t UdpChecksum(uint32_t source_ip_be, uint32_t destination_ip_be, std::span<const uint8_t> udp_datagram) {
  const uint16_t c = ChecksumFinish(
      ChecksumAdd(UdpPseudoHeaderSum(source_ip_be, destination_ip_be, udp_datagram.size()), udp_datagram));
  return c == 0 ? 0xffff : c;
}

std::string_view ToString(UdpChecksumMode mode) {
  switch (mode) {
    case UdpChecksumMode::kSoftware:
      return "software";
    case UdpChecksumMode::kOffload:
      return "offload";
    case UdpChecksumMode::kNone:
      return "none";
  }
  return "?";
}

size_t WriteUdpFrameHeaders(uint8_t* frame, const FrameEndpoints& e, uint16_t ip_id, size_t payload_length,
                            UdpChecksumMode checksum) {
  constexpr size_t kIpOffset = kEthernetHeaderSize;
  constexpr size_t kUdpOffset = kEthernetHeaderSize + 20;
  const size_t udp_length = 8 + payload_length;
  const size_t ip_length = 20 + udp_length;

  std::memcpy(frame, e.destination_mac.data(), 6);
  std::memcpy(frame + 6, e.source_mac.data(), 6);
  frame[12] = 0x08;  // EtherType IPv4
  frame[13] = 0x00;

  uint8_t* ip = frame + kIpOffset;
  const uint16_t total_be = htons(static_cast<uint16_t>(ip_length));
  const uint16_t id_be = htons(ip_id);
  ip[0] = 0x45;  // version 4, 5 words of header
  ip[1] = 0;     // DSCP/ECN
  std::memcpy(ip + 2, &total_be, 2);
  std::memcpy(ip + 4, &id_be, 2);
  ip[6] = 0x40;  // DF: every frame fits the link, as Linux sends with path MTU discovery
  ip[7] = 0;
  ip[8] = 64;  // TTL
  ip[9] = kIpProtoUdp;
  ip[10] = ip[11] = 0;
  std::memcpy(ip + 12, &e.source_ip_be, 4);
  std::memcpy(ip + 16, &e.destination_ip_be, 4);
  const uint16_t ip_sum = InternetChecksum({ip, 20});
  std::memcpy(ip + 10, &ip_sum, 2);

  uint8_t* udp = frame + kUdpOffset;
  const uint16_t sport_be = htons(e.source_port);
  const uint16_t dport_be = htons(e.destination_port);
  const uint16_t ulen_be = htons(static_cast<uint16_t>(udp_length));
  std::memcpy(udp, &sport_be, 2);
  std::memcpy(udp + 2, &dport_be, 2);
  std::memcpy(udp + 4, &ulen_be, 2);
  udp[6] = udp[7] = 0;
  uint16_t udp_sum = 0;
  switch (checksum) {
    case UdpChecksumMode::kSoftware:
      udp_sum = UdpChecksum(e.source_ip_be, e.destination_ip_be, {udp, udp_length});
      break;
    case UdpChecksumMode::kOffload:
      // CHECKSUM_PARTIAL convention: the field holds the folded, uncomplemented pseudo
      // header sum; whoever completes it adds the UDP header and payload and complements.
      udp_sum =
          static_cast<uint16_t>(~ChecksumFinish(UdpPseudoHeaderSum(e.source_ip_be, e.destination_ip_be, udp_length)));
      break;
    case UdpChecksumMode::kNone:
      break;
  }
  std::memcpy(udp + kUdpChecksumOffset, &udp_sum, 2);
  return kEthernetHeaderSize + ip_length;
}

}  // namespace zcb
