#include "stack/io_uring_stream_sender.h"

#include <sys/socket.h>

#include <cerrno>
#include <limits>

#include "stack/datagram.h"
#include "stack/io_uring_ring.h"
#include "stack/udp_limits.h"
#include "stack/user_buffers.h"
#include "stack/zerocopy_completions.h"

// liburing 2.3's headers predate Linux 6.2's usage report for SEND_ZC.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

namespace zcb {
namespace {

constexpr int64_t kMaxDepth = 32768;  // IORING_MAX_ENTRIES

// A SEND_ZC notification CQE: the kernel is done with the buffer of send `seq`, which it
// sent from the pages (zero-copy) or copied first (IORING_NOTIF_USAGE_ZC_COPIED).
Status AccountNotification(CompletionWindow& window, ZeroCopyStats& stats, uint64_t seq, int32_t res, const char* op_name,
                           const char* what) {
  Status s = window.Complete(seq, 1);
  if (!s.ok()) return Errorf("{}: notification for {} {}: {}", op_name, what, seq, s.error().what());
  ++stats.completions;
  if (static_cast<uint32_t>(res) & IORING_NOTIF_USAGE_ZC_COPIED) {
    ++stats.copied;
  } else {
    ++stats.zerocopy;
  }
  return OkStatus();
}

// A result CQE: a copying send is done with its buffer now; a zero-copy one when its
// notification arrives (none follows a result without IORING_CQE_F_MORE).
Status ReleaseUnlessNotified(CompletionWindow& window, uint64_t seq, uint32_t flags, const char* op_name, const char* what) {
  if (flags & IORING_CQE_F_MORE) return OkStatus();
  Status s = window.Complete(seq, 1);
  if (!s.ok()) return Errorf("{}: result for {} {}: {}", op_name, what, seq, s.error().what());
  return OkStatus();
}

// Names the socket by its index (0) in the ring's registered files instead of its fd.
void UseRegisteredSocket(io_uring_sqe* sqe) {
  sqe->fd = 0;
  sqe->flags |= IOSQE_FIXED_FILE;
}

// Registers what the configuration asks for: the socket as fixed file 0, the ring fd.
Status RegisterFiles(IoUringRing& ring, int fd, const IoUringSendConfig& config) {
  if (!config.registered_files) return OkStatus();
  ZCB_RETURN_IF_ERROR(ring.RegisterFile(fd));
  return ring.RegisterRingFd();
}

class IoUringStreamSender final : public SendStrategy {
 public:
  IoUringStreamSender(int fd, IoUringRing ring, UserBuffers buffers, const IoUringSendConfig& config,
                      std::chrono::milliseconds timeout)
      : fd_(fd),
        ring_(std::move(ring)),
        buffers_(std::move(buffers)),
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
    op.offset = offset;
    op.data = op.message.data;
    op.left = op.message.len;
    if (queued_ == ops_.size()) return Flush();
    return OkStatus();
  }

  Status Finish() override {
    ZCB_RETURN_IF_ERROR(Flush());
    while (window_.watermark() < window_.issued()) ZCB_RETURN_IF_ERROR(WaitOne("the last notifications"));
    return OkStatus();
  }

 private:
  static constexpr int32_t kNoResult = std::numeric_limits<int32_t>::min();

  struct Op {
    UserBuffers::Message message;
    uint64_t offset = 0;         // stream offset of the message (for errors)
    const uint8_t* data = nullptr;
    size_t left = 0;             // bytes not yet accepted by the kernel
    uint64_t last_seq = 0;       // sequence number of the last SQE that carried it
    int32_t res = kNoResult;     // result of this round's SQE
  };

  // Submits the queued messages as linked chains until the kernel accepted all of them,
  // then hands their buffers to UserBuffers with the gate they wait for.
  Status Flush() {
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
        const int flags = queued_ - done > 1 ? MSG_WAITALL | MSG_NOSIGNAL : MSG_NOSIGNAL;
        const auto len = static_cast<unsigned>(op.left);
        if (!config_.zero_copy) {
          io_uring_prep_send(sqe, fd_, op.data, len, flags);
        } else if (config_.fixed_buffers) {
          io_uring_prep_send_zc_fixed(sqe, fd_, op.data, len, flags, IORING_SEND_ZC_REPORT_USAGE, 0);
        } else {
          io_uring_prep_send_zc(sqe, fd_, op.data, len, flags, IORING_SEND_ZC_REPORT_USAGE);
        }
        if (config_.registered_files) UseRegisteredSocket(sqe);
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
    for (size_t i = 0; i < queued_; ++i) buffers_.Sent(ops_[i].message, ops_[i].last_seq);
    queued_ = 0;
    return OkStatus();
  }

  Error SendFailed(const Op& op) const {
    const size_t sent = op.message.len - op.left;
    if (op.res == 0) return Errorf("{}: the kernel accepted 0 of {} bytes at stream offset {}", op_name_, op.left, op.offset + sent);
    const int err = -op.res;
    if (err == EPIPE || err == ECONNRESET) {
      return Error(err, fmt::format("{}: the receiver closed the connection (at stream offset {})", op_name_, op.offset + sent));
    }
    if (err == EINVAL && config_.zero_copy) {
      return Error(err, fmt::format("{} refused the request (a kernel before 6.2 rejects IORING_SEND_ZC_REPORT_USAGE)", op_name_));
    }
    return Error(err, fmt::format("{} of {} bytes at stream offset {}", op_name_, op.left, op.offset + sent));
  }

  // Waits for one CQE (submitting what is queued) and accounts for it.
  Status WaitOne(const char* waiting_for) {
    auto cqe = ring_.SubmitAndWait(timeout_);
    if (!cqe.ok()) {
      if (cqe.error().errno_value() != ETIME) return std::move(cqe).error().Context(op_name_);
      return Errorf("{}: no completion within {} ms while waiting for {}: {} send results and {} buffer releases "
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
  IoUringSendConfig config_;
  std::chrono::milliseconds timeout_;
  const char* op_name_;
  CompletionWindow window_;
  std::vector<Op> ops_;         // batch messages; sized once
  size_t queued_ = 0;           // ops_[0, queued_) wait for Flush
  size_t round_first_op_ = 0;   // the op the current round's first SQE carries
  uint64_t round_first_seq_ = 0;
  size_t results_pending_ = 0;  // result CQEs the current round still waits for
};

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
      for (uint64_t d = next_datagram_ - queued_; d < next_datagram_; ++d) slots_.Scribble(d, lengths_[d % lengths_.size()]);
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
      return Error(ETIMEDOUT, fmt::format("{}: no completion within {} ms while waiting for {}: {} send results and {} "
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
    if (flags & IORING_CQE_F_NOTIF) return AccountNotification(window_, stats_.zerocopy, seq, res, op_name_, "datagram send");
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
  size_t queued_ = 0;              // SQEs prepared but not submitted
  size_t results_pending_ = 0;     // SQEs submitted or queued without a result CQE yet
  uint64_t cqes_seen_ = 0;         // CQEs accounted for so far
};

Result<std::unique_ptr<SendStrategy>> CreateIoUringDatagramSender(const SendContext& ctx, const IoUringSendConfig& config,
                                                                  const char* name) {
  ZCB_RETURN_IF_ERROR(CheckDatagramSize(ctx.message_size, name));
  // A slot per possible in-flight send, so that the gates rarely wait beyond `depth`.
  ZCB_ASSIGN_OR_RETURN(DatagramRing slots, DatagramRing::Create(ctx.payload->pattern(), ctx.flow_id, ctx.payload->kind(),
                                                                ctx.message_size, std::max<size_t>(config.depth, kPayloadPhases)));
  ZCB_ASSIGN_OR_RETURN(IoUringRing ring, IoUringRing::Create(config.depth, config.setup));
  if (ring.cq_entries() < 2 * config.depth) {
    return Errorf("{}: the ring's completion queue ({} entries) is smaller than 2 x depth", name, ring.cq_entries());
  }
  if (config.fixed_buffers) ZCB_RETURN_IF_ERROR(ring.RegisterBuffer(slots.Region()));
  ZCB_RETURN_IF_ERROR(RegisterFiles(ring, ctx.socket_fd, config));
  return std::unique_ptr<SendStrategy>(
      new IoUringDatagramSender(ctx.socket_fd, std::move(ring), std::move(slots), config, CompletionTimeout(ctx.socket_fd)));
}

}  // namespace

std::vector<OptionSpec> IoUringStreamOptions() {
  return {
      OptionSpec{"depth", OptionType::kInt, "256",
                 "ring entries (1 to 32768); also the most sends whose buffers the kernel may hold at once (SEND_ZC "
                 "notifications outstanding)"}
          .InRange(1, kMaxDepth),
      OptionSpec{"batch", OptionType::kInt, "1",
                 "messages per submission, sent as one linked chain (1 = one io_uring_enter per message, like send()); "
                 "at most the depth"}
          .InRange(1, kMaxDepth),
      // The defaults are what liburing's own send benchmark (examples/send-zerocopy.c) and
      // a careful application use: they are cheaper and change nothing the receiver sees.
      OptionSpec{"coop_taskrun", OptionType::kBool, "true",
                 "IORING_SETUP_COOP_TASKRUN: completion work waits until the sender next enters the kernel instead of "
                 "interrupting it (Linux 5.19)"},
      OptionSpec{"single_issuer", OptionType::kBool, "true",
                 "IORING_SETUP_SINGLE_ISSUER: only the sending thread submits, so the kernel skips the ring lock "
                 "(Linux 6.0)"},
      OptionSpec{"defer_taskrun", OptionType::kBool, "false",
                 "IORING_SETUP_DEFER_TASKRUN: completion work runs only when the sender waits for completions "
                 "(Linux 6.1; needs single_issuer); off by default, as in liburing's send benchmark"},
      OptionSpec{"registered_files", OptionType::kBool, "true",
                 "register the socket (requests name it as fixed file 0, IOSQE_FIXED_FILE) and the ring fd "
                 "(io_uring_register_ring_fd), so that no request or io_uring_enter looks up and references a file"},
  };
}

Result<IoUringSendConfig> IoUringSendConfigFrom(const Options& options, const char* strategy) {
  IoUringSendConfig config;
  const int64_t depth = options.GetInt("depth");
  const int64_t batch = options.GetInt("batch");
  if (depth < 1 || depth > kMaxDepth) return Usagef("strategy {} option depth={}: expected 1 to {}", strategy, depth, kMaxDepth);
  if (batch < 1 || batch > depth) {
    return Usagef("strategy {} option batch={}: expected 1 to the depth ({})", strategy, batch, depth);
  }
  config.depth = static_cast<unsigned>(depth);
  config.batch = static_cast<unsigned>(batch);
  config.setup.coop_taskrun = options.GetBool("coop_taskrun");
  config.setup.single_issuer = options.GetBool("single_issuer");
  config.setup.defer_taskrun = options.GetBool("defer_taskrun");
  config.registered_files = options.GetBool("registered_files");
  if (config.setup.defer_taskrun && !config.setup.single_issuer) {
    return Usagef("strategy {} option defer_taskrun=true needs single_issuer=true (the kernel refuses DEFER_TASKRUN alone)",
                  strategy);
  }
  return config;
}

Result<std::unique_ptr<SendStrategy>> CreateIoUringStreamSender(const SendContext& ctx, const IoUringSendConfig& config) {
  const char* name = config.zero_copy ? "io_uring_send_zc" : "io_uring_send";
  if (ctx.protocol == Protocol::kUdp) return CreateIoUringDatagramSender(ctx, config, name);
  if (ctx.message_size > std::numeric_limits<int32_t>::max()) {
    return Errorf("{}: a message of {} bytes is larger than one io_uring send can carry (2 GiB - 1)", name, ctx.message_size);
  }
  if (config.unsafe_reuse && config.batch != 1) {
    return Errorf("{}: unsafe_reuse rewrites its one buffer after every submission; it needs batch=1 (got batch={})", name,
                  config.batch);
  }
  ZCB_ASSIGN_OR_RETURN(UserBuffers buffers, UserBuffers::Create(*ctx.payload, ctx.message_size, config.unsafe_reuse));
  if (ctx.payload->kind() == SourceKind::kGenerated && !config.unsafe_reuse && config.batch > ctx.payload->slot_count()) {
    // A batch holds its slots until it is submitted: it must not lap the ring.
    return Errorf("{}: batch={} exceeds the generated source's {} ring slots; use a smaller batch", name, config.batch,
                  ctx.payload->slot_count());
  }
  // Room for every result of a batch plus every outstanding notification.
  ZCB_ASSIGN_OR_RETURN(IoUringRing ring, IoUringRing::Create(config.depth, config.setup));
  if (ring.cq_entries() < config.depth + config.batch) {
    return Errorf("{}: the ring's completion queue ({} entries) is smaller than depth + batch", name, ring.cq_entries());
  }
  if (config.fixed_buffers) ZCB_RETURN_IF_ERROR(ring.RegisterBuffer(buffers.Region()));
  ZCB_RETURN_IF_ERROR(RegisterFiles(ring, ctx.socket_fd, config));
  return std::unique_ptr<SendStrategy>(
      new IoUringStreamSender(ctx.socket_fd, std::move(ring), std::move(buffers), config, CompletionTimeout(ctx.socket_fd)));
}

}  // namespace zcb
