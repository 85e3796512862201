#include "stack/udp_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "stack/gso_message.h"
#include "stack/unique_fd.h"

namespace zcb {

Status CheckDatagramSize(size_t size, const char* who) {
  if (size == 0) return Errorf("{}: a datagram must carry at least 1 byte (--size)", who);
  if (size > kMaxUdpPayloadIpv4) {
    return Errorf(
        "{}: a {}-byte datagram is over the UDP/IPv4 limit of {} bytes per datagram (65535 - 20 IPv4 - 8 UDP "
        "header bytes; the kernel refuses it with EMSGSIZE); use --size {} or less",
        who, size, kMaxUdpPayloadIpv4, kMaxUdpPayloadIpv4);
  }
  return OkStatus();
}

Result<int> PathMtu(int fd) {
  int mtu = 0;
  socklen_t len = sizeof mtu;
  if (::getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len) != 0)
    return SysError("getsockopt(IP_MTU) on the connected UDP socket");
  return mtu;
}

size_t MaxGsoSegments() {
  static const size_t max_segments = [] {
    // Send 128 one-byte segments to a socket of our own on loopback: Linux 6.10 raised
    // UDP_MAX_SEGMENTS from 64 to 128, and an older kernel refuses this with EINVAL.
    UniqueFd rx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    UniqueFd tx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!rx || !tx) return size_t{64};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(rx.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(rx.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return size_t{64};
    }
    std::vector<uint8_t> data(128, 0);
    GsoMessage message(1);  // 128 segments of one byte
    msghdr msg = *message.For(data.data(), data.size());
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof addr;
    return ::sendmsg(tx.get(), &msg, 0) == static_cast<ssize_t>(data.size()) ? size_t{128} : size_t{64};
  }();
  return max_segments;
}

Status CheckGsoShape(std::string_view strategy, size_t buffer, size_t segment, int path_mtu) {
  if (segment == 0) return Errorf("{}: segment=0: a segment must carry at least 1 byte", strategy);
  if (segment > UINT16_MAX) {
    return Errorf("{}: segment={} is over the UDP_SEGMENT limit of 65535 (the option is a 16-bit value)", strategy,
                  segment);
  }
  if (path_mtu > 0 && segment + kIpv4UdpHeaders > static_cast<size_t>(path_mtu)) {
    return Errorf(
        "{}: segment={} does not fit the path MTU of {} bytes ({} + 28 IPv4/UDP header bytes); the "
        "largest segment on this path is {} (the kernel refuses a larger one with EMSGSIZE)",
        strategy, segment, path_mtu, segment, static_cast<size_t>(path_mtu) - kIpv4UdpHeaders);
  }
  if (buffer > kMaxUdpPayloadIpv4) {
    return Errorf(
        "{}: a {}-byte UDP_SEGMENT buffer is over the limit of {} bytes per call (the kernel builds one "
        "IPv4 datagram of at most 64 KiB before cutting it into segments; EMSGSIZE); use --size {} or less, "
        "e.g. {} ({} segments of {})",
        strategy, buffer, kMaxUdpPayloadIpv4, kMaxUdpPayloadIpv4, kMaxUdpPayloadIpv4 / segment * segment,
        kMaxUdpPayloadIpv4 / segment, segment);
  }
  const size_t segments = (buffer + segment - 1) / segment;
  if (segments > MaxGsoSegments()) {
    return Errorf(
        "{}: --size {} in segments of {} is {} segments per call, over this kernel's limit of {} "
        "(UDP_MAX_SEGMENTS; EINVAL); use a larger segment or --size {} or less",
        strategy, buffer, segment, segments, MaxGsoSegments(), MaxGsoSegments() * segment);
  }
  return OkStatus();
}

Error UdpSendError(const char* call, size_t datagram_bytes, int fd) {
  const int err = errno;
  if (err == EMSGSIZE) {
    auto mtu = PathMtu(fd);
    return Error(err,
                 fmt::format("{}: the kernel refused {} bytes as too long: a UDP/IPv4 datagram carries at most {} "
                             "bytes{}",
                             call, datagram_bytes, kMaxUdpPayloadIpv4,
                             mtu.ok() ? fmt::format(", and a UDP_SEGMENT segment or an unfragmented datagram at most "
                                                    "{} on this path (MTU {})",
                                                    *mtu - static_cast<int>(kIpv4UdpHeaders), *mtu)
                                      : std::string()));
  }
  if (err == ECONNREFUSED) {
    return Error(err, fmt::format("{}: the receiver's port is closed (an ICMP port unreachable came back)", call));
  }
  if (err == EIO) {
    return Error(err, fmt::format("{}: the kernel refused a UDP_SEGMENT send: the outgoing device has no transmit "
                                  "checksum offload, which UDP GSO needs (turn it on with ethtool -K DEV tx on)",
                                  call));
  }
  if (err == EAGAIN || err == EWOULDBLOCK) {
    return Error(err, fmt::format("{}: the socket stayed full for the send timeout", call));
  }
  return Error(err, call);
}

}  // namespace zcb
