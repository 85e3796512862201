// io_uring_send_zc: IORING_OP_SEND_ZC with IORING_SEND_ZC_REPORT_USAGE. Each request
// gives a result CQE (IORING_CQE_F_MORE: a notification follows) and, once the kernel
// no longer reads the buffer, a notification CQE (IORING_CQE_F_NOTIF) whose res says
// whether the data was copied after all (IORING_NOTIF_USAGE_ZC_COPIED; always so on
// local delivery). completions = notifications = submitted SQEs once Finish() returns.
// Option fixed_buffers: the send region is registered with the ring, so the kernel does
// not pin and unpin the pages on every request. UDP: one SQE per datagram, each slot
// gated by its notification (stack/io_uring_sender.h).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "stack/io_uring_ring.h"
#include "stack/io_uring_sender.h"
#include "stack/strategies.h"
#include "stack/unique_fd.h"

// liburing 2.3's headers predate Linux 6.2's usage report for SEND_ZC.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif

namespace zcb {
namespace {

// A connected loopback TCP pair (the accepting side stays in the listener's backlog).
struct LoopbackPair {
  UniqueFd listener;
  UniqueFd client;
};

Result<LoopbackPair> ConnectLoopback() {
  LoopbackPair pair;
  pair.listener.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!pair.listener) return SysError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(pair.listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return SysError("bind 127.0.0.1:0");
  if (::listen(pair.listener.get(), 1) != 0) return SysError("listen");
  if (::getsockname(pair.listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return SysError("getsockname");
  pair.client.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!pair.client) return SysError("socket");
  if (::connect(pair.client.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
    return SysError("connect to 127.0.0.1");
  return pair;
}

// SEND_ZC with the usage report, for real: one byte over loopback. A kernel before 6.2
// fails the request with EINVAL for the unknown flag.
Availability ProbeSendZcUsageReport() {
  Availability base = ProbeIoUring(IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC (Linux 6.0)");
  if (!base.available) return base;
  auto pair = ConnectLoopback();
  if (!pair.ok()) return {false, "io_uring_send_zc probe: loopback connection: " + pair.error().ToString()};
  auto ring = IoUringRing::Create(4);
  if (!ring.ok()) return {false, ring.error().ToString()};
  static const uint8_t kByte = 0x5a;
  io_uring_sqe* sqe = io_uring_get_sqe(ring->get());
  io_uring_prep_send_zc(sqe, pair->client.get(), &kByte, 1, MSG_NOSIGNAL, IORING_SEND_ZC_REPORT_USAGE);
  bool result_seen = false, notif_seen = false, more = false;
  while (!result_seen || (more && !notif_seen)) {
    auto cqe = ring->SubmitAndWait(std::chrono::seconds(5));
    if (!cqe.ok()) return {false, "io_uring_send_zc probe: " + cqe.error().ToString()};
    const int32_t res = (*cqe)->res;
    const uint32_t flags = (*cqe)->flags;
    io_uring_cqe_seen(ring->get(), *cqe);
    if (flags & IORING_CQE_F_NOTIF) {
      notif_seen = true;
      continue;
    }
    result_seen = true;
    more = (flags & IORING_CQE_F_MORE) != 0;
    if (res == -EINVAL) {
      return {false,
              "the kernel rejects IORING_SEND_ZC_REPORT_USAGE (it needs Linux 6.2 or later), so copied and "
              "zero-copy completions cannot be told apart"};
    }
    if (res < 0) return {false, Error(-res, "io_uring_send_zc probe: SEND_ZC of one byte over loopback").ToString()};
  }
  return {};
}

}  // namespace

StrategyInfo IoUringSendZcStrategyInfo() {
  StrategyInfo info;
  info.name = "io_uring_send_zc";
  info.summary = "IORING_OP_SEND_ZC with IORING_SEND_ZC_REPORT_USAGE; notifications counted zero-copy vs copied";
  info.caps.protocols = {Protocol::kTcp, Protocol::kUdp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.lends_buffers = true;
  info.caps.reports_zerocopy = true;
  info.caps.supports_unsafe_reuse = true;
  info.caps.sends_responses = true;  // the header lent with SEND_ZC, the body by sendfile() (io_uring_stream_sender.cc)
  info.options = IoUringSenderOptions();
  info.options.push_back({"fixed_buffers", OptionType::kBool, "false",
                          "register the send region with the ring (io_uring_register_buffers) and send with "
                          "io_uring_prep_send_zc_fixed, so that pages are not pinned per request"});
  info.options.push_back({"unsafe_reuse", OptionType::kBool, "false",
                          "break the reuse rule on purpose: rewrite the buffer as soon as the send's result CQE "
                          "arrives, before its notification, so that the receiver's integrity check shows what was "
                          "really sent (TCP: needs batch=1; UDP: the slots are rewritten right after the submission)"});
  info.probe = ProbeSendZcUsageReport;
  info.validate = [](const Options& options, Protocol protocol, uint64_t /*message_size*/) -> Status {
    ZCB_ASSIGN_OR_RETURN(IoUringSendConfig config, IoUringSendConfigFrom(options, "io_uring_send_zc"));
    if (protocol == Protocol::kTcp && options.GetBool("unsafe_reuse") && config.batch != 1) {
      return Usagef(
          "strategy io_uring_send_zc option unsafe_reuse=true rewrites its one buffer after every submission; "
          "over TCP it needs batch=1 (got batch={})",
          config.batch);
    }
    return OkStatus();
  };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_ASSIGN_OR_RETURN(IoUringSendConfig config, IoUringSendConfigFrom(ctx.options, "io_uring_send_zc"));
    config.zero_copy = true;
    config.fixed_buffers = ctx.options.GetBool("fixed_buffers");
    config.unsafe_reuse = ctx.options.GetBool("unsafe_reuse");
    return CreateIoUringSender(ctx, config);
  };
  return info;
}

}  // namespace zcb
