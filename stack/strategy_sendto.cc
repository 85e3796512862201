// sendto: one datagram per system call, copied by the kernel. The UDP baseline every
// other datagram strategy is measured against: a system call, a route lookup on the
// connected socket's cached route, an skb allocation and a copy per datagram.

#include <sys/socket.h>

#include <cerrno>

#include "stack/datagram.h"
#include "stack/strategies.h"
#include "stack/udp_limits.h"

namespace zcb {
namespace {

class SendtoStrategy final : public SendStrategy {
 public:
  SendtoStrategy(int fd, DatagramRing ring) : fd_(fd), ring_(std::move(ring)) {}

  Status Send(uint64_t /*offset*/, size_t len) override {
    const uint8_t* data = ring_.Prepare(stats_.datagrams, len);
    for (;;) {
      const ssize_t n = ::sendto(fd_, data, len, MSG_NOSIGNAL, nullptr, 0);
      ++stats_.send_calls;
      if (n >= 0) break;
      if (errno == EINTR) continue;
      return UdpSendError("sendto", len, fd_);
    }
    ++stats_.datagrams;
    stats_.bytes_sent += len;
    return OkStatus();
  }

 private:
  int fd_;
  DatagramRing ring_;
};

}  // namespace

StrategyInfo SendtoStrategyInfo() {
  StrategyInfo info;
  info.name = "sendto";
  info.summary = "one datagram per sendto() call (the copying UDP baseline)";
  info.caps.protocols = {Protocol::kUdp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_RETURN_IF_ERROR(CheckDatagramSize(ctx.message_size, "sendto"));
    ZCB_ASSIGN_OR_RETURN(DatagramRing ring,
                         DatagramRing::Create(ctx.payload->pattern(), ctx.flow_id, ctx.payload->kind(),
                                              ctx.message_size, kPayloadPhases));
    return std::unique_ptr<SendStrategy>(new SendtoStrategy(ctx.socket_fd, std::move(ring)));
  };
  return info;
}

}  // namespace zcb
