// msg_zerocopy: SO_ZEROCOPY + send(MSG_ZEROCOPY). The kernel pins the user pages instead
// of copying them and later says, on the socket's error queue, when it is done with them
// and whether it had to copy after all. The buffer is lent until that notification: a
// generated-source slot is rewritten only after the notification of the last send that
// carried it.
//
// Every successful MSG_ZEROCOPY send call takes the next id, so completions == send_calls
// once Finish() returns. A call refused with ENOBUFS (the socket's option memory,
// net.core.optmem_max, is used up by notifications and pinned-page accounting, or the
// locked-memory limit is reached) is not an error: the strategy reaps completions and
// retries, counting it in enobufs_retries.

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "stack/socket_io.h"
#include "stack/strategies.h"
#include "stack/unique_fd.h"
#include "stack/user_buffers.h"
#include "stack/zerocopy_completions.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

namespace zcb {
namespace {

constexpr int64_t kMaxInflightLimit = 1 << 20;

class MsgZerocopyStrategy final : public SendStrategy {
 public:
  MsgZerocopyStrategy(int fd, UserBuffers buffers, size_t max_inflight, std::chrono::milliseconds timeout)
      : fd_(fd),
        buffers_(std::move(buffers)),
        completions_(fd, max_inflight, timeout),
        // Reap without blocking from half the bound on, so that blocking is rare.
        reap_threshold_(std::max<size_t>(1, max_inflight / 2)) {}

  Status Send(uint64_t offset, size_t len) override {
    if (auto gate = buffers_.PendingGate()) ZCB_RETURN_IF_ERROR(completions_.WaitFor(*gate));
    UserBuffers::Message m = buffers_.Prepare(offset, len);
    const uint8_t* data = m.data;
    size_t left = m.len;
    uint64_t last_seq = 0;
    while (left > 0) {
      ZCB_RETURN_IF_ERROR(MakeRoom());
      const ssize_t n = ::send(fd_, data, left, MSG_ZEROCOPY | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          ++stats_.zerocopy.enobufs_retries;
          ZCB_RETURN_IF_ERROR(ReapAfterEnobufs());
          continue;
        }
        return SendError("send(MSG_ZEROCOPY)");
      }
      // A short send (a timeout or signal after some bytes) still took an id.
      last_seq = completions_.Issued();
      ++stats_.send_calls;
      stats_.bytes_sent += static_cast<uint64_t>(n);
      data += n;
      left -= static_cast<size_t>(n);
    }
    buffers_.Sent(m, last_seq);
    return OkStatus();
  }

  Status Finish() override {
    Status s = completions_.WaitAll();
    CopyCompletionStats();
    return s;
  }

 private:
  // Keeps the outstanding sends under max_inflight.
  Status MakeRoom() {
    const CompletionWindow& w = completions_.window();
    if (w.issued() - w.watermark() >= reap_threshold_) ZCB_RETURN_IF_ERROR(completions_.Drain());
    while (completions_.window().full()) ZCB_RETURN_IF_ERROR(completions_.WaitForProgress("a free in-flight slot (max_inflight)"));
    CopyCompletionStats();
    return OkStatus();
  }

  Status ReapAfterEnobufs() {
    if (completions_.window().outstanding() == 0) {
      return Error(ENOBUFS, "send(MSG_ZEROCOPY) refused with no zero-copy send outstanding: the socket's option memory "
                            "(net.core.optmem_max) or the locked-memory limit (ulimit -l) is too small for one send; "
                            "raise them or use smaller messages");
    }
    ZCB_RETURN_IF_ERROR(completions_.WaitForProgress("completions after ENOBUFS"));
    CopyCompletionStats();
    return OkStatus();
  }

  void CopyCompletionStats() {
    const ZeroCopyStats& c = completions_.stats();
    stats_.zerocopy.completions = c.completions;
    stats_.zerocopy.copied = c.copied;
    stats_.zerocopy.zerocopy = c.zerocopy;
  }

  int fd_;
  UserBuffers buffers_;
  ErrqueueCompletions completions_;
  size_t reap_threshold_;
};

Availability ProbeMsgZerocopy() {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return {false, SysError("msg_zerocopy probe: socket(AF_INET, SOCK_STREAM)").ToString()};
  int one = 1;
  if (::setsockopt(sock.get(), SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
    return {false, SysError("setsockopt(SO_ZEROCOPY) on a TCP socket (MSG_ZEROCOPY needs Linux 4.14 or later)").ToString()};
  }
  return {};
}

}  // namespace

StrategyInfo MsgZerocopyStrategyInfo() {
  StrategyInfo info;
  info.name = "msg_zerocopy";
  info.summary = "SO_ZEROCOPY + send(MSG_ZEROCOPY); completions from the error queue, zero-copy vs copied counted";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.lends_buffers = true;
  info.caps.reports_zerocopy = true;
  info.caps.supports_unsafe_reuse = true;
  info.options = {
      {"max_inflight", OptionType::kInt, "1024",
       "the most MSG_ZEROCOPY sends whose buffers the kernel may still hold; at the bound the sender blocks "
       "for completions (1 to 1048576)"},
      {"unsafe_reuse", OptionType::kBool, "false",
       "break the reuse rule on purpose: rewrite the buffer as soon as send() returns, while the kernel may still "
       "read it, so that the receiver's integrity check shows what was really sent"},
  };
  info.probe = ProbeMsgZerocopy;
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    const int64_t max_inflight = ctx.options.GetInt("max_inflight");
    if (max_inflight < 1 || max_inflight > kMaxInflightLimit) {
      return Errorf("strategy msg_zerocopy option max_inflight={}: expected 1 to {}", max_inflight, kMaxInflightLimit);
    }
    int one = 1;
    if (::setsockopt(ctx.socket_fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
      return SysError("msg_zerocopy: setsockopt(SO_ZEROCOPY) on the sending socket");
    }
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers,
                         UserBuffers::Create(*ctx.payload, ctx.message_size, ctx.options.GetBool("unsafe_reuse")));
    return std::unique_ptr<SendStrategy>(new MsgZerocopyStrategy(ctx.socket_fd, std::move(buffers),
                                                                 static_cast<size_t>(max_inflight),
                                                                 CompletionTimeout(ctx.socket_fd)));
  };
  return info;
}

}  // namespace zcb
