// sendmmsg: datagrams gathered into batches, one sendmmsg() call per batch. Each Send()
// queues one datagram; a batch leaves when it is full (and the last, partial one at
// Finish()), so under pacing datagrams leave in bursts of `batch`. What batching saves is
// the per-call cost (entry, socket lookup, locking); the kernel still builds and copies
// one skb per datagram.

#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "stack/datagram.h"
#include "stack/strategies.h"
#include "stack/udp_limits.h"

namespace zcb {
namespace {

// The kernel's cap on one sendmmsg() vector (UIO_MAXIOV).
constexpr int64_t kMaxBatch = 1024;

class SendmmsgStrategy final : public SendStrategy {
 public:
  SendmmsgStrategy(int fd, DatagramRing ring, size_t batch)
      : fd_(fd), ring_(std::move(ring)), messages_(batch), iovecs_(batch) {
    for (size_t i = 0; i < batch; ++i) {
      messages_[i].msg_hdr = msghdr{};
      messages_[i].msg_hdr.msg_iov = &iovecs_[i];
      messages_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  Status Send(uint64_t /*offset*/, size_t len) override {
    iovecs_[queued_] = {ring_.Prepare(next_sequence_, len), len};
    ++next_sequence_;
    if (++queued_ == messages_.size()) return Flush();
    return OkStatus();
  }

  Status Finish() override { return Flush(); }

 private:
  Status Flush() {
    size_t done = 0;
    while (done < queued_) {
      const int n = ::sendmmsg(fd_, messages_.data() + done, static_cast<unsigned>(queued_ - done), MSG_NOSIGNAL);
      ++stats_.send_calls;
      if (n < 0) {
        if (errno == EINTR) continue;
        return UdpSendError("sendmmsg", iovecs_[done].iov_len, fd_);
      }
      // A short count: the datagram after the last one sent failed; the next call says why.
      for (int i = 0; i < n; ++i) stats_.bytes_sent += iovecs_[done + static_cast<size_t>(i)].iov_len;
      stats_.datagrams += static_cast<uint64_t>(n);
      done += static_cast<size_t>(n);
    }
    queued_ = 0;
    return OkStatus();
  }

  int fd_;
  DatagramRing ring_;
  std::vector<mmsghdr> messages_;
  std::vector<iovec> iovecs_;
  size_t queued_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace

StrategyInfo SendmmsgStrategyInfo() {
  StrategyInfo info;
  info.name = "sendmmsg";
  info.summary = "datagrams in batches, one sendmmsg() call per batch";
  info.caps.protocols = {Protocol::kUdp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.options = {
      OptionSpec{"batch", OptionType::kInt, "64",
                 "datagrams per sendmmsg() call (1-1024); the last batch may be shorter"}
          .InRange(1, kMaxBatch),
  };
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_RETURN_IF_ERROR(CheckDatagramSize(ctx.message_size, "sendmmsg"));
    const int64_t batch = ctx.options.GetInt("batch");
    if (batch < 1 || batch > kMaxBatch) {
      return Errorf("sendmmsg: batch={} is out of range: one call carries 1 to {} datagrams (UIO_MAXIOV)", batch,
                    kMaxBatch);
    }
    // A slot per datagram of a batch: the kernel has copied a batch before its slots return.
    ZCB_ASSIGN_OR_RETURN(DatagramRing ring,
                         DatagramRing::Create(ctx.payload->pattern(), ctx.flow_id, ctx.payload->kind(),
                                              ctx.message_size, static_cast<size_t>(batch)));
    return std::unique_ptr<SendStrategy>(
        new SendmmsgStrategy(ctx.socket_fd, std::move(ring), static_cast<size_t>(batch)));
  };
  return info;
}

}  // namespace zcb
