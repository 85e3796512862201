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
//
// A server's response (SendResponse, TCP): the generated header lent with
// send(MSG_ZEROCOPY | MSG_MORE), then the body with sendfile() from its file. The
// header's buffer is the caller's, which may rewrite it once SendResponse returns, so the
// call waits for the header's completion first; `unsafe_reuse` returns without waiting
// (the completion is reaped later), and a kernel that reads the header late sends what
// the caller wrote over it. A response on another connection than the strategy's
// (file_serving's connection per request) turns SO_ZEROCOPY on for it and waits for its
// completion on that socket's error queue before returning, unsafe_reuse or not (the
// connection closes next).

#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "stack/datagram.h"
#include "stack/gso_message.h"
#include "stack/socket_io.h"
#include "stack/strategies.h"
#include "stack/udp_limits.h"
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

// What both protocols share: the completion window over the error queue, and the rules
// for making room in it (max_inflight) and for riding out ENOBUFS.
class MsgZerocopyBase : public SendStrategy {
 public:
  MsgZerocopyBase(int fd, size_t max_inflight, std::chrono::milliseconds timeout)
      : fd_(fd),
        completions_(fd, max_inflight, timeout),
        // Reap without blocking from half the bound on, so that blocking is rare.
        reap_threshold_(std::max<size_t>(1, max_inflight / 2)) {}

  Status Finish() override {
    Status s = completions_.WaitAll();
    CopyCompletionStats();
    return s;
  }

 protected:
  // Keeps the outstanding sends under max_inflight.
  Status MakeRoom() {
    const CompletionWindow& w = completions_.window();
    if (w.issued() - w.watermark() >= reap_threshold_) ZCB_RETURN_IF_ERROR(completions_.Drain());
    while (completions_.window().full())
      ZCB_RETURN_IF_ERROR(completions_.WaitForProgress("a free in-flight slot (max_inflight)"));
    CopyCompletionStats();
    return OkStatus();
  }

  Status ReapAfterEnobufs() {
    if (completions_.window().outstanding() == 0) {
      return Error(ENOBUFS,
                   "send(MSG_ZEROCOPY) refused with no zero-copy send outstanding: the socket's option memory "
                   "(net.core.optmem_max) or the locked-memory limit (ulimit -l) is too small for one send; "
                   "raise them or use smaller messages");
    }
    ZCB_RETURN_IF_ERROR(completions_.WaitForProgress("completions after ENOBUFS"));
    CopyCompletionStats();
    return OkStatus();
  }

  void CopyCompletionStats() {
    const ZeroCopyStats& c = completions_.stats();
    stats_.zerocopy.completions = c.completions + other_connections_.completions;
    stats_.zerocopy.copied = c.copied + other_connections_.copied;
    stats_.zerocopy.zerocopy = c.zerocopy + other_connections_.zerocopy;
    stats_.zerocopy.ranged = c.ranged + other_connections_.ranged;
  }

  int fd_;
  ErrqueueCompletions completions_;
  size_t reap_threshold_;
  ZeroCopyStats other_connections_;  // completions of responses on connections of their own
};

class MsgZerocopyStrategy final : public MsgZerocopyBase {
 public:
  MsgZerocopyStrategy(int fd, UserBuffers buffers, size_t max_inflight, std::chrono::milliseconds timeout)
      : MsgZerocopyBase(fd, max_inflight, timeout), buffers_(std::move(buffers)) {}

  Status Send(uint64_t offset, size_t len) override {
    if (auto gate = buffers_.PendingGate()) ZCB_RETURN_IF_ERROR(completions_.WaitFor(*gate));
    UserBuffers::Message m = buffers_.Prepare(offset, len);
    ZCB_ASSIGN_OR_RETURN(const uint64_t last_seq, SendLent({m.data, m.len}, 0));
    buffers_.Sent(m, last_seq);
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    if (response.socket_fd != fd_) return SendResponseOnOwnConnection(response);
    if (!response.header.empty()) {
      ZCB_ASSIGN_OR_RETURN(const uint64_t seq, SendLent(response.header, response.file_length > 0 ? MSG_MORE : 0));
      if (!buffers_.unsafe_reuse()) {
        ZCB_RETURN_IF_ERROR(SendBody(response));
        ZCB_RETURN_IF_ERROR(completions_.WaitFor(seq));
        CopyCompletionStats();
        return OkStatus();
      }
    }
    return SendBody(response);
  }

 private:
  // One lent span on the strategy's socket, whole (several calls if short; a short send,
  // a timeout or signal after some bytes, still took an id): the sequence number of the
  // last call.
  Result<uint64_t> SendLent(std::span<const uint8_t> bytes, int flags) {
    const uint8_t* data = bytes.data();
    size_t left = bytes.size();
    uint64_t last_seq = 0;
    while (left > 0) {
      ZCB_RETURN_IF_ERROR(MakeRoom());
      const ssize_t n = ::send(fd_, data, left, MSG_ZEROCOPY | MSG_NOSIGNAL | flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          ++stats_.zerocopy.enobufs_retries;
          ZCB_RETURN_IF_ERROR(ReapAfterEnobufs());
          continue;
        }
        return SendError("send(MSG_ZEROCOPY)");
      }
      last_seq = completions_.Issued();
      ++stats_.send_calls;
      stats_.bytes_sent += static_cast<uint64_t>(n);
      data += n;
      left -= static_cast<size_t>(n);
    }
    return last_seq;
  }

  Status SendBody(const Response& response) {
    if (response.file_length == 0) return OkStatus();
    ZCB_RETURN_IF_ERROR(SendfileAll(response.socket_fd, response.file_fd, static_cast<off_t>(response.file_offset),
                                    response.file_length, &stats_.send_calls));
    stats_.bytes_sent += response.file_length;
    return OkStatus();
  }

  // The header lent on a connection of its own, its completions read from that socket.
  Status SendResponseOnOwnConnection(const Response& response) {
    if (!response.header.empty()) {
      int one = 1;
      if (::setsockopt(response.socket_fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0)
        return SysError("msg_zerocopy: setsockopt(SO_ZEROCOPY) on the response's connection");
      uint64_t calls = 0;  // each call takes an id
      ZCB_RETURN_IF_ERROR(SendAll(response.socket_fd, response.header.data(), response.header.size(),
                                  MSG_ZEROCOPY | (response.file_length > 0 ? MSG_MORE : 0), &calls));
      ErrqueueCompletions own(response.socket_fd, static_cast<size_t>(calls), CompletionTimeout(response.socket_fd));
      for (uint64_t i = 0; i < calls; ++i) own.Issued();
      stats_.send_calls += calls;
      stats_.bytes_sent += response.header.size();
      ZCB_RETURN_IF_ERROR(SendBody(response));
      ZCB_RETURN_IF_ERROR(own.WaitAll());
      other_connections_.completions += own.stats().completions;
      other_connections_.copied += own.stats().copied;
      other_connections_.zerocopy += own.stats().zerocopy;
      other_connections_.ranged += own.stats().ranged;
      CopyCompletionStats();
      return OkStatus();
    }
    return SendBody(response);
  }

  UserBuffers buffers_;
};

// UDP: each call carries whole datagrams from a DatagramRing. Without `segment`, one
// send(MSG_ZEROCOPY) per datagram; with it, one sendmsg(MSG_ZEROCOPY) with a UDP_SEGMENT
// cmsg carrying a run of consecutive slots, which the kernel cuts into datagrams. Either
// way a call takes one completion id, and every slot it carried waits for that id before
// it is rewritten (even the memory source rewrites each slot's header).
class MsgZerocopyDatagramStrategy final : public MsgZerocopyBase {
 public:
  MsgZerocopyDatagramStrategy(int fd, DatagramRing ring, size_t segment, bool unsafe_reuse, size_t max_inflight,
                              std::chrono::milliseconds timeout)
      : MsgZerocopyBase(fd, max_inflight, timeout),
        ring_(std::move(ring)),
        segment_(segment),
        unsafe_reuse_(unsafe_reuse),
        message_(segment) {}

  // The last completions. A datagram larger than the path MTU goes out as IP fragments
  // that keep the lent pages (MSG_ZEROCOPY pages are not copied by a forwarding device);
  // when one fragment is lost, the others wait in the receiver's reassembly queue, and
  // the send completes only when that queue times out (net.ipv4.ipfrag_time, 30 s); and
  // over veth the last send of a trial of fragmented datagrams was seen to stay lent with
  // every datagram delivered. The receiver accounts for the datagrams either way, so the
  // sends still lent after kDatagramFinalStall without progress are recorded
  // (outstanding_at_end), not a failed trial.
  Status Finish() override {
    Status s = completions_.WaitAll(kDatagramFinalStall);
    CopyCompletionStats();
    if (!s.ok() && s.error().errno_value() == ETIMEDOUT) {
      stats_.zerocopy.outstanding_at_end = completions_.window().outstanding();
      return OkStatus();
    }
    return s;
  }

  Status Send(uint64_t /*offset*/, size_t len) override {
    if (segment_ == 0) return SendRun(1, len, len);
    const size_t count = (len + segment_ - 1) / segment_;
    const size_t first_slot = ring_.SlotOf(next_sequence_);
    // Full-size calls' runs are contiguous in the ring; only a run after a shorter call
    // (none before the last) can reach the end of the ring, and is split in two calls.
    const size_t fits = std::min(count, ring_.slot_count() - first_slot);
    ZCB_RETURN_IF_ERROR(SendRun(fits, std::min(len, fits * segment_), segment_));
    if (fits < count) ZCB_RETURN_IF_ERROR(SendRun(count - fits, len - fits * segment_, segment_));
    return OkStatus();
  }

 private:
  // One call: `count` datagrams of `size` bytes (the last one shorter) from next_sequence_,
  // `bytes` in all, in consecutive slots.
  Status SendRun(size_t count, size_t bytes, size_t size) {
    uint8_t* start = nullptr;
    size_t left = bytes;
    for (size_t i = 0; i < count; ++i) {
      const uint64_t seq = next_sequence_ + i;
      if (auto gate = ring_.PendingGate(seq)) ZCB_RETURN_IF_ERROR(completions_.WaitFor(*gate));
      const size_t n = std::min(size, left);
      uint8_t* data = ring_.Prepare(seq, n);
      if (i == 0) start = data;
      left -= n;
    }
    const msghdr* msg = message_.For(start, bytes);
    const char* call = segment_ > 0 ? "sendmsg(MSG_ZEROCOPY, UDP_SEGMENT)" : "send(MSG_ZEROCOPY)";
    for (;;) {
      ZCB_RETURN_IF_ERROR(MakeRoom());
      const ssize_t n = ::sendmsg(fd_, msg, MSG_ZEROCOPY | MSG_NOSIGNAL);
      if (n >= 0) break;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        ++stats_.zerocopy.enobufs_retries;
        ZCB_RETURN_IF_ERROR(ReapAfterEnobufs());
        continue;
      }
      return UdpSendError(call, bytes, fd_);
    }
    const uint64_t id = completions_.Issued();
    for (size_t i = 0; i < count; ++i) ring_.Lent(next_sequence_ + i, id);
    if (unsafe_reuse_) {
      left = bytes;
      for (size_t i = 0; i < count; ++i) {
        const size_t n = std::min(size, left);
        ring_.Scribble(next_sequence_ + i, n);
        left -= n;
      }
    }
    ++stats_.send_calls;
    next_sequence_ += count;
    stats_.datagrams += count;
    stats_.bytes_sent += bytes;
    return OkStatus();
  }

  DatagramRing ring_;
  size_t segment_;  // 0: one datagram per call
  bool unsafe_reuse_;
  uint64_t next_sequence_ = 0;
  GsoMessage message_;
};

// Datagrams whose slots may be lent at once: enough for the in-flight bound, so that
// the gates rarely wait longer than max_inflight does, yet bounded in memory.
constexpr size_t kMaxDatagramRingBytes = 64u << 20;

Result<std::unique_ptr<SendStrategy>> CreateDatagramSender(const SendContext& ctx, size_t max_inflight) {
  const size_t segment = ctx.options.GetSize("segment");
  const bool unsafe_reuse = ctx.options.GetBool("unsafe_reuse");
  size_t slot_size = ctx.message_size;
  size_t run = 1;
  if (segment > 0) {
    ZCB_ASSIGN_OR_RETURN(const int mtu, PathMtu(ctx.socket_fd));
    ZCB_RETURN_IF_ERROR(CheckGsoShape("msg_zerocopy", ctx.message_size, segment, mtu));
    run = (ctx.message_size + segment - 1) / segment;
    slot_size = std::min(segment, ctx.message_size);
  } else {
    ZCB_RETURN_IF_ERROR(CheckDatagramSize(ctx.message_size, "msg_zerocopy"));
  }
  const size_t wanted = std::max<size_t>(run * std::min<size_t>(max_inflight, 64), kPayloadPhases);
  const size_t affordable = std::max<size_t>(kMaxDatagramRingBytes / slot_size, run);
  ZCB_ASSIGN_OR_RETURN(DatagramRing ring, DatagramRing::Create(ctx.payload->pattern(), ctx.flow_id, ctx.payload->kind(),
                                                               slot_size, std::min(wanted, affordable), run));
  return std::unique_ptr<SendStrategy>(new MsgZerocopyDatagramStrategy(
      ctx.socket_fd, std::move(ring), segment, unsafe_reuse, max_inflight, CompletionTimeout(ctx.socket_fd)));
}

Status ValidateMsgZerocopyOptions(const Options& options, Protocol protocol, uint64_t /*message_size*/) {
  if (protocol != Protocol::kUdp && options.GetSize("segment") != 0) {
    return Usagef("strategy msg_zerocopy option segment={}: UDP_SEGMENT is for UDP; leave it 0 for TCP",
                  options.GetSize("segment"));
  }
  return OkStatus();
}

Availability ProbeMsgZerocopy() {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return {false, SysError("msg_zerocopy probe: socket(AF_INET, SOCK_STREAM)").ToString()};
  int one = 1;
  if (::setsockopt(sock.get(), SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
    return {false,
            SysError("setsockopt(SO_ZEROCOPY) on a TCP socket (MSG_ZEROCOPY needs Linux 4.14 or later)").ToString()};
  }
  return {};
}

}  // namespace

StrategyInfo MsgZerocopyStrategyInfo() {
  StrategyInfo info;
  info.name = "msg_zerocopy";
  info.summary = "SO_ZEROCOPY + send(MSG_ZEROCOPY); completions from the error queue, zero-copy vs copied counted";
  info.caps.protocols = {Protocol::kTcp, Protocol::kUdp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.lends_buffers = true;
  info.caps.reports_zerocopy = true;
  info.caps.supports_unsafe_reuse = true;
  info.caps.sends_responses = true;
  info.options = {
      OptionSpec{"max_inflight", OptionType::kInt, "1024",
                 "the most MSG_ZEROCOPY sends whose buffers the kernel may still hold; at the bound the sender blocks "
                 "for completions (1 to 1048576)"}
          .InRange(1, kMaxInflightLimit),
      {"unsafe_reuse", OptionType::kBool, "false",
       "break the reuse rule on purpose: rewrite the buffer as soon as send() returns, while the kernel may still "
       "read it, so that the receiver's integrity check shows what was really sent"},
      {"segment", OptionType::kSize, "0",
       "UDP only: 0 sends one datagram per send(); N > 0 sends --size bytes per sendmsg() with a UDP_SEGMENT cmsg, "
       "cut by the kernel into datagrams of N bytes (GSO; at most 65507 bytes and 128 segments, 64 before Linux 6.10, "
       "per call; N + 28 must fit the path MTU)"},
  };
  info.probe = ProbeMsgZerocopy;
  info.validate = ValidateMsgZerocopyOptions;
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    const int64_t max_inflight = ctx.options.GetInt("max_inflight");
    int one = 1;
    if (::setsockopt(ctx.socket_fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
      return SysError("msg_zerocopy: setsockopt(SO_ZEROCOPY) on the sending socket");
    }
    ZCB_RETURN_IF_ERROR(ValidateMsgZerocopyOptions(ctx.options, ctx.protocol, ctx.message_size));
    if (ctx.protocol == Protocol::kUdp) return CreateDatagramSender(ctx, static_cast<size_t>(max_inflight));
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers,
                         UserBuffers::Create(*ctx.payload, ctx.message_size, ctx.options.GetBool("unsafe_reuse")));
    return std::unique_ptr<SendStrategy>(new MsgZerocopyStrategy(
        ctx.socket_fd, std::move(buffers), static_cast<size_t>(max_inflight), CompletionTimeout(ctx.socket_fd)));
  };
  return info;
}

}  // namespace zcb
