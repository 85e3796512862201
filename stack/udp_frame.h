#pragma once

// zcbench's user-space UDP/IPv4/Ethernet stack, the part that builds frames: an Ethernet
// II header, an IPv4 header with its checksum, a UDP header with its checksum computed
// here, left to the device (offload), or left out (0, legal for UDP over IPv4).
//
//   offset  0  Ethernet: destination MAC, source MAC, EtherType 0x0800
//   offset 14  IPv4: version 4, IHL 5, total length, id, DF, TTL 64, protocol 17, checksum
//   offset 34  UDP: source port, destination port, length, checksum
//   offset 42  the UDP payload (a zcbench datagram)
//
// Checksums are RFC 1071 one's-complement sums. They are computed over native-endian
// words and stored natively, which yields the network-order checksum bytes on any host
// (RFC 1071, section 2(B): the sum is byte-order independent).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace zcb {

inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr size_t kUdpFrameHeaders = 14 + 20 + 8;  // Ethernet + IPv4 + UDP
inline constexpr size_t kUdpChecksumOffset = 6;          // within the UDP header
inline constexpr uint8_t kIpProtoUdp = 17;

// Adds `data` to a running one's-complement sum (not yet folded). `data` must start at an
// even offset of the checksummed bytes (every piece but the last has an even length).
uint64_t ChecksumAdd(uint64_t sum, std::span<const uint8_t> data);
// Folds a running sum to 16 bits and complements it: the checksum field's value, in the
// byte order of the words summed (store it with memcpy).
uint16_t ChecksumFinish(uint64_t sum);
// The checksum of `data` alone (e.g. an IPv4 header with its checksum field zero).
inline uint16_t InternetChecksum(std::span<const uint8_t> data) { return ChecksumFinish(ChecksumAdd(0, data)); }

// The IPv4 pseudo header's sum for a UDP datagram: addresses in network byte order,
// `udp_length` = 8 + payload bytes.
uint64_t UdpPseudoHeaderSum(uint32_t source_ip_be, uint32_t destination_ip_be, size_t udp_length);
// The UDP checksum field for a UDP header + payload (checksum field zero) between these
// addresses; 0 becomes 0xffff (0 on the wire means "no checksum").
uint16_t UdpChecksum(uint32_t source_ip_be, uint32_t destination_ip_be, std::span<const uint8_t> udp_datagram);

enum class UdpChecksumMode {
  kSoftware,  // computed here over every byte
  kOffload,   // the pseudo-header sum is written, the device (or the kernel) completes it
  kNone,      // 0: the receiver does not check
};
std::string_view ToString(UdpChecksumMode mode);

struct FrameEndpoints {
  std::array<uint8_t, 6> source_mac{};
  std::array<uint8_t, 6> destination_mac{};
  uint32_t source_ip_be = 0;
  uint32_t destination_ip_be = 0;
  uint16_t source_port = 0;       // host byte order
  uint16_t destination_port = 0;  // host byte order
};

// Writes the Ethernet, IPv4 and UDP headers in front of the `payload_length` bytes of UDP
// payload already at frame + kUdpFrameHeaders. Returns the frame's length.
size_t WriteUdpFrameHeaders(uint8_t* frame, const FrameEndpoints& endpoints, uint16_t ip_id, size_t payload_length,
                            UdpChecksumMode checksum);

}  // namespace zcb
