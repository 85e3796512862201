// vmsplice: user pages go to the socket without a copy: vmsplice() puts references to
// them into a pipe, splice() moves those references into the socket's skbs.
//
// Nothing tells the application when the kernel is done with the pages: no completion
// as MSG_ZEROCOPY has. The pipe, then the skb, then on a path that delivers locally the
// receiver's socket queue keep reading the very pages the application owns until the
// receiving application has read the bytes. So a buffer is rewritten only when the peer
// has its bytes (PeerGate): with the memory source nothing is ever rewritten; with the
// generated source each ring slot waits for the peer to have what it last carried.
// `unsafe_reuse` breaks the rule on purpose (UserBuffers scribbles the buffer right
// after the call) so that the receiver's integrity check shows what really went out.
//
// `gift` passes SPLICE_F_GIFT: the pages are given to the kernel, which may then steal
// rather than copy them where a consumer moves pages (on current kernels only a FUSE
// device does; a socket takes references either way, so gift should measure the same as
// no gift: the option is there to show it).
//
// send_calls counts the vmsplice and the splice calls.

#include <fcntl.h>
#include <sys/uio.h>

#include "stack/peer_gate.h"
#include "stack/pipe_io.h"
#include "stack/strategies.h"
#include "stack/user_buffers.h"

namespace zcb {
namespace {

class VmspliceStrategy final : public SendStrategy, public PeerGated {
 public:
  VmspliceStrategy(int socket_fd, UserBuffers buffers, Pipe pipe, bool gift, PeerGate gate)
      : socket_fd_(socket_fd),
        buffers_(std::move(buffers)),
        pipe_(std::move(pipe)),
        vmsplice_flags_(gift ? SPLICE_F_GIFT : 0u),
        gate_(std::move(gate)) {}

  Status Send(uint64_t offset, size_t len) override {
    if (std::optional<uint64_t> gate = buffers_.PendingGate()) ZCB_RETURN_IF_ERROR(gate_.WaitFor(*gate));
    UserBuffers::Message m = buffers_.Prepare(offset, len);
    iovec iov{m.data, m.len};
    while (iov.iov_len > 0) {
      // The pipe is empty here, so this takes up to a pipe-full and does not block.
      ssize_t in = ::vmsplice(pipe_.write_end.get(), &iov, 1, vmsplice_flags_);
      ++stats_.send_calls;
      if (in < 0) {
        if (errno == EINTR) continue;
        return SysError("vmsplice the message into the pipe");
      }
      if (in == 0) return Errorf("vmsplice moved nothing into an empty pipe with {} bytes to go", iov.iov_len);
      iov.iov_base = static_cast<uint8_t*>(iov.iov_base) + in;
      iov.iov_len -= static_cast<size_t>(in);
      ZCB_RETURN_IF_ERROR(SpliceToSocket(pipe_.read_end.get(), socket_fd_, static_cast<size_t>(in), iov.iov_len > 0,
                                         &stats_.send_calls));
    }
    // The slot may be rewritten once the peer has every byte up to this message's end.
    buffers_.Sent(m, offset + len);
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status Finish() override {
    // The pages stay lent until the peer has read the last byte.
    Status s = buffers_.unsafe_reuse() ? OkStatus() : gate_.WaitFor(stats_.bytes_sent);
    stats_.peer_gate = gate_.stats();
    return s;
  }

  const PeerGateStats& peer_gate_stats() const override { return gate_.stats(); }

 private:
  int socket_fd_;
  UserBuffers buffers_;
  Pipe pipe_;
  unsigned vmsplice_flags_;
  PeerGate gate_;
};

}  // namespace

StrategyInfo VmspliceStrategyInfo() {
  StrategyInfo info;
  info.name = "vmsplice";
  info.summary = "vmsplice() user pages into a pipe, then splice() the pipe into the socket";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.lends_buffers = true;
  info.caps.supports_unsafe_reuse = true;
  info.caps.waits_for_reader = true;
  info.options = {
      {"gift", OptionType::kBool, "false", "vmsplice with SPLICE_F_GIFT: give the pages to the kernel"},
      OptionSpec{"pipe_size", OptionType::kSize, "64K",
                 "pipe capacity set with F_SETPIPE_SZ (rounded up to a power of two pages): the most one vmsplice + "
                 "splice moves"}
          .InRange(static_cast<int64_t>(PageSize()), kMaxPipeSize),
      {"unsafe_reuse", OptionType::kBool, "false",
       "rewrite the buffer right after the splice returns, while the kernel still references its pages (the "
       "receiver's integrity check then counts the damage); by default a buffer waits until the peer has its bytes"},
  };
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers,
                         UserBuffers::Create(*ctx.payload, ctx.message_size, ctx.options.GetBool("unsafe_reuse")));
    ZCB_ASSIGN_OR_RETURN(Pipe pipe, CreateSizedPipe(ctx.options.GetSize("pipe_size"), "strategy vmsplice"));
    ZCB_ASSIGN_OR_RETURN(PeerGate gate, PeerGate::Create(ctx.socket_fd, ctx.peer_received));
    return std::unique_ptr<SendStrategy>(new VmspliceStrategy(ctx.socket_fd, std::move(buffers), std::move(pipe),
                                                              ctx.options.GetBool("gift"), std::move(gate)));
  };
  return info;
}

}  // namespace zcb
