#pragma once

// The limits a UDP/IPv4 sender runs into, and errors that name them. A datagram's size in
// zcbench is its UDP payload (the zcbench header included), as iperf3 -l counts it.
//
//   65507 bytes   the largest UDP payload of one IPv4 datagram (65535 total length - 20
//                 IPv4 header - 8 UDP header bytes); also the most one UDP_SEGMENT call
//                 carries, because the kernel builds it as one datagram first.
//   path MTU      a UDP_SEGMENT segment, and a frame built in user space, must fit it
//                 with its 28 header bytes (IP fragments a plain oversized datagram).
//   segments      the kernel's UDP_MAX_SEGMENTS (64 before Linux 6.10, 128 since) per call.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/result.h"

namespace zcb {

inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kUdpHeaderSize = 8;
inline constexpr size_t kIpv4UdpHeaders = kIpv4HeaderSize + kUdpHeaderSize;
inline constexpr size_t kMaxUdpPayloadIpv4 = 65535 - kIpv4UdpHeaders;  // 65507

// A datagram size the kernel accepts; `who` names the strategy for the message.
Status CheckDatagramSize(size_t size, const char* who);

// The connected socket's path MTU (getsockopt IP_MTU).
Result<int> PathMtu(int fd);

// The most segments one UDP_SEGMENT send may carry on this kernel (probed once: 128 or 64).
size_t MaxGsoSegments();

// A UDP_SEGMENT configuration the kernel accepts for `buffer` bytes per call on a path
// with this MTU; the error names the limit that was crossed and what to do.
Status CheckGsoShape(std::string_view strategy, size_t buffer, size_t segment, int path_mtu);

// The errno of a failed UDP send, turned into what the user should know: EMSGSIZE names
// the limit that was crossed, ECONNREFUSED says the receiver's port is closed.
Error UdpSendError(const char* call, size_t datagram_bytes, int fd);

}  // namespace zcb
