// udp_gso: UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18). One sendmsg()
// hands the kernel a buffer of up to 64 KiB that it carries as one large skb through the
// stack and cuts into datagrams of `segment` bytes as late as possible: in the device
// (USO), in the GSO layer just before the driver, or, on a local path to a UDP_GRO
// receiver, not at all. Each Send() is one call carrying `len` bytes: len / segment
// datagrams of `segment` bytes and, when the segment does not divide it, one shorter
// datagram for the rest. Every datagram carries its own zcbench header.

#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "stack/datagram.h"
#include "stack/gso_message.h"
#include "stack/strategies.h"
#include "stack/udp_limits.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

class UdpGsoStrategy final : public SendStrategy {
 public:
  UdpGsoStrategy(int fd, DatagramRing ring, size_t segment)
      : fd_(fd), ring_(std::move(ring)), segment_(segment), message_(segment) {}

  Status Send(uint64_t /*offset*/, size_t len) override {
    const size_t count = (len + segment_ - 1) / segment_;
    const size_t first_slot = ring_.SlotOf(next_sequence_);
    // The ring is sized so that every full-size call's run of slots is contiguous; only a
    // run after a shorter call (none before the last) can reach the end and is split.
    const size_t fits = std::min(count, ring_.slot_count() - first_slot);
    ZCB_RETURN_IF_ERROR(SendRun(fits, std::min(len, fits * segment_)));
    if (fits < count) ZCB_RETURN_IF_ERROR(SendRun(count - fits, len - fits * segment_));
    return OkStatus();
  }

 private:
  // One call: `count` datagrams from next_sequence_, `bytes` in all, in consecutive slots.
  Status SendRun(size_t count, size_t bytes) {
    uint8_t* start = nullptr;
    size_t left = bytes;
    for (size_t i = 0; i < count; ++i) {
      const size_t size = std::min(segment_, left);
      uint8_t* data = ring_.Prepare(next_sequence_ + i, size);
      if (i == 0) start = data;
      left -= size;
    }
    const msghdr* msg = message_.For(start, bytes);
    for (;;) {
      const ssize_t n = ::sendmsg(fd_, msg, MSG_NOSIGNAL);
      ++stats_.send_calls;
      if (n >= 0) break;
      if (errno == EINTR) continue;
      return UdpSendError("sendmsg(UDP_SEGMENT)", bytes, fd_);
    }
    next_sequence_ += count;
    stats_.datagrams += count;
    stats_.bytes_sent += bytes;
    return OkStatus();
  }

  int fd_;
  DatagramRing ring_;
  size_t segment_;
  uint64_t next_sequence_ = 0;
  GsoMessage message_;
};

Availability ProbeUdpGso() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return {false, SysError("udp_gso probe: socket(AF_INET, SOCK_DGRAM)").ToString()};
  const int segment = 1472;
  if (::setsockopt(sock.get(), SOL_UDP, UDP_SEGMENT, &segment, sizeof segment) != 0) {
    return {false, SysError("setsockopt(UDP_SEGMENT) (UDP GSO needs Linux 4.18 or later)").ToString()};
  }
  return {};
}

}  // namespace

StrategyInfo UdpGsoStrategyInfo() {
  StrategyInfo info;
  info.name = "udp_gso";
  info.summary = "UDP_SEGMENT: one sendmsg() of up to 64 KiB, cut into datagrams of `segment` bytes by the kernel";
  info.caps.protocols = {Protocol::kUdp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.options = {
      {"segment",
       OptionType::kSize,
       "1472",
       "datagram (segment) size; --size is the bytes per call, at most 65507 and 128 segments (64 before Linux 6.10); "
       "segment + 28 must fit the path MTU",
       {}},
  };
  info.probe = ProbeUdpGso;
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    const size_t segment = ctx.options.GetSize("segment");
    ZCB_ASSIGN_OR_RETURN(const int mtu, PathMtu(ctx.socket_fd));
    ZCB_RETURN_IF_ERROR(CheckGsoShape("udp_gso", ctx.message_size, segment, mtu));
    const size_t run = (ctx.message_size + segment - 1) / segment;
    ZCB_ASSIGN_OR_RETURN(DatagramRing ring,
                         DatagramRing::Create(ctx.payload->pattern(), ctx.flow_id, ctx.payload->kind(),
                                              std::min(segment, ctx.message_size), run, run));
    return std::unique_ptr<SendStrategy>(new UdpGsoStrategy(ctx.socket_fd, std::move(ring), segment));
  };
  return info;
}

}  // namespace zcb
