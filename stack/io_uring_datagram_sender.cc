// The UDP datagram sender of io_uring_send and io_uring_send_zc (stack/io_uring_sender.h).
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "stack/datagram.h"
#include "stack/io_uring_sender_internal.h"
#include "stack/udp_limits.h"

namespace zcb {
namespace {

// UDP: one SQE per datagram on the connected socket, from a DatagramRing. Datagrams need
// no ordering chain (each is whole, and the receiver tolerates reordering), so the SQEs
// of a batch are independent and the next batch does not wait for their results. Each
// SQE's sequence number (its user_data) gates its slot: a copying SEND is done with the
// slot at its result CQE, a SEND_ZC at its notification.
class IoUringDatagramSender final : public SendStrategy {
 public:
  IoUringDatagramSender(int fd, IoUringRing ring, DatagramRing slots, const IoUringSendConfig& config,
                        std::chrono::milliseconds timeout)
      : fd_(fd),
        ring_(std::move(ring)),
        slots_(std::move(slots)),
        config_(config),
        timeout_(timeout),
        op_name_(config.zero_copy ? "io_uring SEND_ZC" : "io_uring SEND"),
        window_(config.depth),
        lengths_(config.depth) {}

  Status Send(uint64_t /*offset*/, size_t len) override {
    const uint64_t datagram = next_datagram_;
    if (auto gate = slots_.PendingGate(datagram)) {
      while (!window_.IsCompleted(*gate)) ZCB_RETURN_IF_ERROR(WaitOne("the completion that frees a datagram slot"));
    }
    while (window_.full()) ZCB_RETURN_IF_ERROR(WaitOne("a free in-flight slot (depth)"));
    uint8_t* data = slots_.Prepare(datagram, len);
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    if (sqe == nullptr) return Errorf("{}: the submission queue is full", op_name_);
    const auto n = static_cast<unsigned>(len);
    if (!config_.zero_copy) {
      io_uring_prep_send(sqe, fd_, data, n, MSG_NOSIGNAL);
    } else if (config_.fixed_buffers) {
      io_uring_prep_send_zc_fixed(sqe, fd_, data, n, MSG_NOSIGNAL, IORING_SEND_ZC_REPORT_USAGE, 0);
    } else {
      io_uring_prep_send_zc(sqe, fd_, data, n, MSG_NOSIGNAL, IORING_SEND_ZC_REPORT_USAGE);
    }
    if (config_.registered_files) UseRegisteredSocket(sqe);
    const uint64_t seq = window_.Issue();
    io_uring_sqe_set_data64(sqe, seq);
    lengths_[seq % lengths_.size()] = n;
    slots_.Lent(datagram, seq);
    ++results_pending_;
    ++next_datagram_;
    ++stats_.datagrams;
    stats_.bytes_sent += len;
    if (++queued_ == config_.batch) return Submit();
    return OkStatus();
  }

  // The last results and notifications. As for MSG_ZEROCOPY (strategy_msg_zerocopy.cc):
  // a SEND_ZC of a datagram cut into IP fragments, one of them lost, is notified only
  // when the receiver's reassembly queue times out; once every result is in, the
  // notifications still missing after kDatagramFinalStall without progress are
  // recorded, not a failure.
  Status Finish() override {
    ZCB_RETURN_IF_ERROR(Submit());
    while (results_pending_ > 0 || window_.watermark() < window_.issued()) {
      // The results may take the full timeout; notifications alone, kDatagramFinalStall.
      Status s = results_pending_ > 0 ? WaitOne("the last results and notifications")
                                      : WaitOne("the last notifications", kDatagramFinalStall);
      if (s.ok()) continue;
      if (s.error().errno_value() == ETIMEDOUT && results_pending_ == 0) {
        stats_.zerocopy.outstanding_at_end = window_.outstanding();
        return OkStatus();
      }
      return s;
    }
    return OkStatus();
  }

 private:
  // One io_uring_enter for the queued SQEs, then whatever completions are already in.
  Status Submit() {
    if (queued_ == 0) return OkStatus();
    const int submitted = io_uring_submit(ring_.get());
    if (submitted < 0) return Error(-submitted, fmt::format("{}: io_uring_submit", op_name_));
    ++stats_.send_calls;
    if (config_.unsafe_reuse) {
      // Break the rule on purpose: the datagrams just submitted may still be lent.
      // Datagram d went with sequence number d: both count the Send() calls.
      for (uint64_t d = next_datagram_ - queued_; d < next_datagram_; ++d)
        slots_.Scribble(d, lengths_[d % lengths_.size()]);
    }
    queued_ = 0;
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe != nullptr) ZCB_RETURN_IF_ERROR(Account(cqe));
    return OkStatus();
  }

  // Waits for one CQE (submitting what is queued) and accounts for it. Submitting also
  // accounts for the CQEs already in; when there were any, that is the progress the caller
  // waits for, and blocking for one more could wait for a CQE that never comes.
  Status WaitOne(const char* waiting_for) { return WaitOne(waiting_for, timeout_); }
  Status WaitOne(const char* waiting_for, std::chrono::milliseconds timeout) {
    if (queued_ > 0) {
      const uint64_t seen = cqes_seen_;
      ZCB_RETURN_IF_ERROR(Submit());
      if (cqes_seen_ != seen) return OkStatus();
    }
    auto cqe = ring_.SubmitAndWait(timeout);
    if (!cqe.ok()) {
      if (cqe.error().errno_value() != ETIME) return std::move(cqe).error().Context(op_name_);
      return Error(ETIMEDOUT,
                   fmt::format("{}: no completion within {} ms while waiting for {}: {} send results and {} "
                               "slot releases outstanding",
                               op_name_, timeout.count(), waiting_for, results_pending_, window_.outstanding()));
    }
    return Account(*cqe);
  }

  Status Account(io_uring_cqe* cqe) {
    const uint64_t seq = io_uring_cqe_get_data64(cqe);
    const int32_t res = cqe->res;
    const uint32_t flags = cqe->flags;
    io_uring_cqe_seen(ring_.get(), cqe);
    ++cqes_seen_;
    if (flags & IORING_CQE_F_NOTIF)
      return AccountNotification(window_, stats_.zerocopy, seq, res, op_name_, "datagram send");
    if (results_pending_ == 0) return Errorf("{}: unexpected result for datagram send {} (res {})", op_name_, seq, res);
    --results_pending_;
    const size_t len = lengths_[seq % lengths_.size()];
    if (res < 0) {
      errno = -res;
      return UdpSendError(op_name_, len, fd_);
    }
    if (static_cast<size_t>(res) != len) {
      return Errorf("{}: datagram send {} carried {} of {} bytes", op_name_, seq, res, len);
    }
    return ReleaseUnlessNotified(window_, seq, flags, op_name_, "datagram send");
  }

  int fd_;
  IoUringRing ring_;
  DatagramRing slots_;
  IoUringSendConfig config_;
  std::chrono::milliseconds timeout_;
  const char* op_name_;
  CompletionWindow window_;
  std::vector<uint32_t> lengths_;  // datagram length by sequence number modulo depth
  uint64_t next_datagram_ = 0;
  size_t queued_ = 0;           // SQEs prepared but not submitted
  size_t results_pending_ = 0;  // SQEs submitted or queued without a result CQE yet
  uint64_t cqes_seen_ = 0;      // CQEs accounted for so far
};

}  // namespace

Result<std::unique_ptr<SendStrategy>> CreateIoUringDatagramSender(const SendContext& ctx,
                                                                  const IoUringSendConfig& config, const char* name) {
  ZCB_RETURN_IF_ERROR(CheckDatagramSize(ctx.message_size, name));
  // A slot per possible in-flight send, so that the gates rarely wait beyond `depth`.
  ZCB_ASSIGN_OR_RETURN(DatagramRing slots,
                       DatagramRing::Create(ctx.payload->pattern(), ctx.flow_id, ctx.payload->kind(), ctx.message_size,
                                            std::max<size_t>(config.depth, kPayloadPhases)));
  ZCB_ASSIGN_OR_RETURN(IoUringRing ring, IoUringRing::Create(config.depth, config.setup));
  if (ring.cq_entries() < 2 * config.depth) {
    return Errorf("{}: the ring's completion queue ({} entries) is smaller than 2 x depth", name, ring.cq_entries());
  }
  if (config.fixed_buffers) ZCB_RETURN_IF_ERROR(ring.RegisterBuffer(slots.Region()));
  ZCB_RETURN_IF_ERROR(RegisterFiles(ring, ctx.socket_fd, config));
  return std::unique_ptr<SendStrategy>(new IoUringDatagramSender(ctx.socket_fd, std::move(ring), std::move(slots),
                                                                 config, CompletionTimeout(ctx.socket_fd)));
}

}  // namespace zcb
