#pragma once

// The sendmsg() message of the UDP strategies that hand the kernel one buffer per call:
// one iovec, and, when a segment size is set, a UDP_SEGMENT control message so that the
// kernel cuts the buffer into datagrams of that size (UDP GSO, Linux 4.18).

#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace zcb {

class GsoMessage {
 public:
  // `segment` 0: no control message, the buffer is one datagram.
  explicit GsoMessage(size_t segment);
  // The message points into itself (iovec, control buffer): it stays where it was made.
  GsoMessage(const GsoMessage&) = delete;
  GsoMessage& operator=(const GsoMessage&) = delete;

  // The message for `bytes` bytes at `data`.
  const msghdr* For(uint8_t* data, size_t bytes) {
    iov_ = {data, bytes};
    return &msg_;
  }

 private:
  msghdr msg_{};
  iovec iov_{};
  alignas(cmsghdr) char control_[CMSG_SPACE(sizeof(uint16_t))] = {};
};

}  // namespace zcb
