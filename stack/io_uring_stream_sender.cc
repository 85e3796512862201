// The TCP stream sender of io_uring_send and io_uring_send_zc (ordering, chains and
// buffer lending: stack/io_uring_sender.h).
#include <sys/socket.h>

#include <cerrno>
#include <limits>
#include <optional>

#include "stack/io_uring_sender_internal.h"
#include "stack/socket_io.h"
#include "stack/user_buffers.h"

namespace zcb {
namespace {

class IoUringStreamSender final : public SendStrategy {
 public:
  IoUringStreamSender(int fd, IoUringRing ring, UserBuffers buffers, MappedRegion response_buffer,
                      const IoUringSendConfig& config, std::chrono::milliseconds timeout)
      : fd_(fd),
        ring_(std::move(ring)),
        buffers_(std::move(buffers)),
        response_buffer_(std::move(response_buffer)),
        config_(config),
        timeout_(timeout),
        op_name_(config.zero_copy ? "io_uring SEND_ZC" : "io_uring SEND"),
        window_(config.depth),
        ops_(config.batch) {}

  Status Send(uint64_t offset, size_t len) override {
    if (auto gate = buffers_.PendingGate()) {
      while (!window_.IsCompleted(*gate)) ZCB_RETURN_IF_ERROR(WaitOne("the completion that frees a buffer"));
    }
    Op& op = ops_[queued_++];
    op.message = buffers_.Prepare(offset, len);
    op.flags = 0;
    op.offset = offset;
    op.data = op.message.data;
    op.left = op.message.len;
    if (queued_ == ops_.size()) return Flush(fd_);
    return OkStatus();
  }

  // A server's response. SEND (io_uring_send): read into the response buffer (header
  // first), then one SEND of it on the response's connection, waited for before the
  // buffer is read into again. SEND_ZC (io_uring_send_zc): the generated header lent with
  // one SEND_ZC (MSG_MORE when a body follows), then the body with sendfile() from its
  // file; the header's buffer is the caller's, which may rewrite it once SendResponse
  // returns, so the call waits for the header's notification first (unsafe_reuse: it
  // does not, and a kernel that reads the header late sends what the caller wrote over it).
  Status SendResponse(const Response& response) override {
    ZCB_RETURN_IF_ERROR(Flush(fd_));  // messages of Send() still queued go first, on their socket
    if (config_.zero_copy) return SendLentHeaderAndFile(response);
    ZCB_RETURN_IF_ERROR(
        SendThroughBuffer(response, {response_buffer_.data(), response_buffer_.size()}, &reads_,
                          [&](std::span<const uint8_t> piece, bool /*more*/) -> Status {
                            Op& op = ops_[queued_++];
                            op.message = UserBuffers::Message{};  // not a payload buffer: nothing for buffers_ to gate
                            op.flags = 0;
                            op.offset = 0;
                            op.data = piece.data();
                            op.left = piece.size();
                            ZCB_RETURN_IF_ERROR(Flush(response.socket_fd));
                            while (!window_.IsCompleted(op.last_seq))
                              ZCB_RETURN_IF_ERROR(WaitOne("the response buffer's release"));
                            return OkStatus();
                          }));
    return OkStatus();
  }

  // The header's release is waited for after the body went: with MSG_MORE the header
  // stays in the socket until the body follows it.
  Status SendLentHeaderAndFile(const Response& response) {
    std::optional<uint64_t> header_seq;
    if (!response.header.empty()) {
      Op& op = ops_[queued_++];
      op.message = UserBuffers::Message{};  // the caller's buffer: nothing for buffers_ to gate
      op.offset = 0;
      op.data = response.header.data();
      op.left = response.header.size();
      op.flags = response.file_length > 0 ? MSG_MORE : 0;
      ZCB_RETURN_IF_ERROR(Flush(response.socket_fd));
      header_seq = op.last_seq;
    }
    if (response.file_length > 0) {
      ZCB_RETURN_IF_ERROR(SendfileAll(response.socket_fd, response.file_fd, static_cast<off_t>(response.file_offset),
                                      response.file_length, &stats_.send_calls));
      stats_.bytes_sent += response.file_length;
    }
    if (header_seq && !config_.unsafe_reuse) {
      while (!window_.IsCompleted(*header_seq)) ZCB_RETURN_IF_ERROR(WaitOne("the response header's release"));
    }
    return OkStatus();
  }

  Status Finish() override {
    ZCB_RETURN_IF_ERROR(Flush(fd_));
    while (window_.watermark() < window_.issued()) ZCB_RETURN_IF_ERROR(WaitOne("the last notifications"));
    return OkStatus();
  }

 private:
  static constexpr int32_t kNoResult = std::numeric_limits<int32_t>::min();

  struct Op {
    UserBuffers::Message message;
    uint64_t offset = 0;            // stream offset of the message (for errors)
    const uint8_t* data = nullptr;  // (a response piece: in the response buffer, message.data null)
    size_t left = 0;                // bytes not yet accepted by the kernel
    uint64_t last_seq = 0;          // sequence number of the last SQE that carried it
    int32_t res = kNoResult;        // result of this round's SQE
    int flags = 0;                  // more send flags (a response header's MSG_MORE)
  };

  // Submits the queued messages to socket `fd` as linked chains until the kernel accepted
  // all of them, then hands their payload buffers to UserBuffers with the gate they wait for.
  Status Flush(int fd) {
    size_t done = 0;  // ops_[0, done) are fully sent
    while (done < queued_) {
      const size_t n = queued_ - done;
      // Room for n more lent buffers (SEND_ZC notifications still to come).
      while (window_.issued() - window_.watermark() + n > window_.capacity()) {
        ZCB_RETURN_IF_ERROR(WaitOne("a free in-flight slot (depth)"));
      }
      round_first_op_ = done;
      round_first_seq_ = window_.issued();
      for (size_t i = done; i < queued_; ++i) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
        if (sqe == nullptr) return Errorf("{}: the submission queue is full", op_name_);
        Op& op = ops_[i];
        // In a chain, MSG_WAITALL: a short transfer fails the request and cancels the rest
        // of the chain, so that no later message can overtake the missing bytes. A lone
        // request has nothing to overtake it: a short result comes back as it is and the
        // rest goes in the next round, without the kernel waiting for space in between.
        const int flags = (queued_ - done > 1 ? MSG_WAITALL | MSG_NOSIGNAL : MSG_NOSIGNAL) | op.flags;
        const auto len = static_cast<unsigned>(op.left);
        if (!config_.zero_copy) {
          io_uring_prep_send(sqe, fd, op.data, len, flags);
        } else if (config_.fixed_buffers && op.message.data != nullptr) {
          io_uring_prep_send_zc_fixed(sqe, fd, op.data, len, flags, IORING_SEND_ZC_REPORT_USAGE, 0);
        } else {
          io_uring_prep_send_zc(sqe, fd, op.data, len, flags, IORING_SEND_ZC_REPORT_USAGE);
        }
        if (config_.registered_files && fd == fd_) UseRegisteredSocket(sqe);
        op.last_seq = window_.Issue();
        op.res = kNoResult;
        io_uring_sqe_set_data64(sqe, op.last_seq);
        if (i + 1 < queued_) sqe->flags |= IOSQE_IO_LINK;
      }
      stats_.send_calls += n;
      results_pending_ = n;
      while (results_pending_ > 0) ZCB_RETURN_IF_ERROR(WaitOne("send results"));

      bool short_seen = false;
      for (size_t i = round_first_op_; i < queued_; ++i) {
        Op& op = ops_[i];
        if (short_seen) {
          // MSG_WAITALL made the short send fail the chain: the rest must not have run, or
          // their bytes overtook the missing ones.
          if (op.res != -ECANCELED) {
            return Errorf("{}: send {} ran after a short send instead of being cancelled; the stream is out of order",
                          op_name_, op.last_seq);
          }
          continue;
        }
        if (op.res <= 0) return SendFailed(op);
        stats_.bytes_sent += static_cast<uint64_t>(op.res);
        op.data += op.res;
        op.left -= static_cast<size_t>(op.res);
        if (op.left > 0) {
          short_seen = true;  // resubmit the rest, then the cancelled ones
          continue;
        }
        done = i + 1;
      }
    }
    for (size_t i = 0; i < queued_; ++i) {
      if (ops_[i].message.data != nullptr) buffers_.Sent(ops_[i].message, ops_[i].last_seq);
    }
    queued_ = 0;
    return OkStatus();
  }

  Error SendFailed(const Op& op) const {
    const size_t sent = op.message.len - op.left;
    if (op.res == 0)
      return Errorf("{}: the kernel accepted 0 of {} bytes at stream offset {}", op_name_, op.left, op.offset + sent);
    const int err = -op.res;
    if (err == EPIPE || err == ECONNRESET) {
      return Error(
          err, fmt::format("{}: the receiver closed the connection (at stream offset {})", op_name_, op.offset + sent));
    }
    if (err == EINVAL && config_.zero_copy) {
      return Error(err, fmt::format("{} refused the request (a kernel before 6.2 rejects IORING_SEND_ZC_REPORT_USAGE)",
                                    op_name_));
    }
    return Error(err, fmt::format("{} of {} bytes at stream offset {}", op_name_, op.left, op.offset + sent));
  }

  // Waits for one CQE (submitting what is queued) and accounts for it.
  Status WaitOne(const char* waiting_for) {
    auto cqe = ring_.SubmitAndWait(timeout_);
    if (!cqe.ok()) {
      if (cqe.error().errno_value() != ETIME) return std::move(cqe).error().Context(op_name_);
      return Errorf(
          "{}: no completion within {} ms while waiting for {}: {} send results and {} buffer releases "
          "outstanding (sequence numbers {}..{}); the receiver may have stopped reading",
          op_name_, timeout_.count(), waiting_for, results_pending_, window_.outstanding(), window_.watermark(),
          window_.issued() == 0 ? 0 : window_.issued() - 1);
    }
    const uint64_t seq = io_uring_cqe_get_data64(*cqe);
    const int32_t res = (*cqe)->res;
    const uint32_t flags = (*cqe)->flags;
    io_uring_cqe_seen(ring_.get(), *cqe);

    if (flags & IORING_CQE_F_NOTIF) return AccountNotification(window_, stats_.zerocopy, seq, res, op_name_, "send");
    if (seq < round_first_seq_ || seq - round_first_seq_ >= queued_ - round_first_op_ || results_pending_ == 0) {
      return Errorf("{}: unexpected result for send {} (res {})", op_name_, seq, res);
    }
    Op& op = ops_[round_first_op_ + (seq - round_first_seq_)];
    if (op.res != kNoResult) return Errorf("{}: a second result for send {}", op_name_, seq);
    op.res = res;
    --results_pending_;
    return ReleaseUnlessNotified(window_, seq, flags, op_name_, "send");
  }

  int fd_;
  IoUringRing ring_;
  UserBuffers buffers_;
  MappedRegion response_buffer_;  // SendResponse's read buffer: message_size bytes
  uint64_t reads_ = 0;
  IoUringSendConfig config_;
  std::chrono::milliseconds timeout_;
  const char* op_name_;
  CompletionWindow window_;
  std::vector<Op> ops_;        // batch messages; sized once
  size_t queued_ = 0;          // ops_[0, queued_) wait for Flush
  size_t round_first_op_ = 0;  // the op the current round's first SQE carries
  uint64_t round_first_seq_ = 0;
  size_t results_pending_ = 0;  // result CQEs the current round still waits for
};

}  // namespace

Result<std::unique_ptr<SendStrategy>> CreateIoUringStreamSender(const SendContext& ctx, const IoUringSendConfig& config,
                                                                const char* name) {
  if (ctx.message_size > std::numeric_limits<int32_t>::max()) {
    return Errorf("{}: a message of {} bytes is larger than one io_uring send can carry (2 GiB - 1)", name,
                  ctx.message_size);
  }
  if (config.unsafe_reuse && config.batch != 1) {
    return Errorf("{}: unsafe_reuse rewrites its one buffer after every submission; it needs batch=1 (got batch={})",
                  name, config.batch);
  }
  ZCB_ASSIGN_OR_RETURN(UserBuffers buffers, UserBuffers::Create(*ctx.payload, ctx.message_size, config.unsafe_reuse));
  if (ctx.payload->kind() == SourceKind::kGenerated && !config.unsafe_reuse &&
      config.batch > ctx.payload->slot_count()) {
    // A batch holds its slots until it is submitted: it must not lap the ring.
    return Errorf("{}: batch={} exceeds the generated source's {} ring slots; use a smaller batch", name, config.batch,
                  ctx.payload->slot_count());
  }
  // Room for every result of a batch plus every outstanding notification.
  ZCB_ASSIGN_OR_RETURN(IoUringRing ring, IoUringRing::Create(config.depth, config.setup));
  if (ring.cq_entries() < config.depth + config.batch) {
    return Errorf("{}: the ring's completion queue ({} entries) is smaller than depth + batch", name,
                  ring.cq_entries());
  }
  if (config.fixed_buffers) ZCB_RETURN_IF_ERROR(ring.RegisterBuffer(buffers.Region()));
  ZCB_RETURN_IF_ERROR(RegisterFiles(ring, ctx.socket_fd, config));
  ZCB_ASSIGN_OR_RETURN(MappedRegion response_buffer, ResponseBuffer(ctx.message_size));
  return std::unique_ptr<SendStrategy>(new IoUringStreamSender(ctx.socket_fd, std::move(ring), std::move(buffers),
                                                               std::move(response_buffer), config,
                                                               CompletionTimeout(ctx.socket_fd)));
}

}  // namespace zcb
