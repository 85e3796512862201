// memfd_sendfile: generated data (a server's response headers, say) written into a
// shared mapping of a memfd, then sendfile()d from the memfd: the seed's "generated data
// can go zero-copy through a mmap'd tmpfs file and sendfile(), if it is not modified
// before the peer has it". The socket takes references to the memfd's pages, so the
// region a message was generated into is rewritten only once the peer has the message
// (PeerGate): the generated ring's slots are reused in turn, each after the peer has
// what it last carried.
//
// `unsafe_reuse` uses one slot for everything and scribbles over it right after
// sendfile() returns, while the skbs still point at its pages: the receiver's integrity
// check shows what the peer then gets.

#include <vector>

#include "stack/peer_gate.h"
#include "stack/socket_io.h"
#include "stack/strategies.h"

namespace zcb {
namespace {

class MemfdSendfileStrategy final : public SendStrategy, public PeerGated {
 public:
  MemfdSendfileStrategy(int socket_fd, Payload& payload, bool unsafe_reuse, PeerGate gate)
      : socket_fd_(socket_fd),
        payload_(payload),
        unsafe_reuse_(unsafe_reuse),
        gate_(std::move(gate)),
        slot_gates_(unsafe_reuse ? 1 : payload.slot_count(), 0) {}

  Status Send(uint64_t offset, size_t len) override {
    const size_t slot = next_slot_;
    next_slot_ = (next_slot_ + 1) % slot_gates_.size();
    // Stream offset the peer must have before the slot may be rewritten (0: never used).
    if (!unsafe_reuse_) ZCB_RETURN_IF_ERROR(gate_.WaitFor(slot_gates_[slot]));
    payload_.Generate(slot, offset, len);
    const size_t file_offset = slot * payload_.slot_size();
    ZCB_RETURN_IF_ERROR(
        SendfileAll(socket_fd_, payload_.fd(), static_cast<off_t>(file_offset), len, &stats_.send_calls));
    if (unsafe_reuse_) {
      // Break the rule on purpose: the socket still references these pages.
      uint8_t* data = payload_.ring().data() + file_offset;
      for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(~data[i]);
    } else {
      slot_gates_[slot] = offset + len;
    }
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status Finish() override {
    Status s = unsafe_reuse_ ? OkStatus() : gate_.WaitFor(stats_.bytes_sent);
    stats_.peer_gate = gate_.stats();
    return s;
  }

  const PeerGateStats& peer_gate_stats() const override { return gate_.stats(); }

 private:
  int socket_fd_;
  Payload& payload_;
  bool unsafe_reuse_;
  PeerGate gate_;
  std::vector<uint64_t> slot_gates_;
  size_t next_slot_ = 0;
};

}  // namespace

StrategyInfo MemfdSendfileStrategyInfo() {
  StrategyInfo info;
  info.name = "memfd_sendfile";
  info.summary =
      "generate into a shared memfd mapping, sendfile() from the memfd; a region is reused once the peer has it";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kGenerated};
  info.caps.lends_buffers = true;
  info.caps.supports_unsafe_reuse = true;
  info.caps.waits_for_reader = true;
  info.options = {
      {"unsafe_reuse", OptionType::kBool, "false",
       "rewrite the region right after sendfile() returns, while the socket still references its pages (the "
       "receiver's integrity check then counts the damage); by default a region waits until the peer has its bytes"},
  };
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    if (ctx.payload->kind() != SourceKind::kGenerated) {
      return Errorf("memfd_sendfile sends from the generated payload source, not {}", ToString(ctx.payload->kind()));
    }
    ZCB_ASSIGN_OR_RETURN(PeerGate gate, PeerGate::Create(ctx.socket_fd, ctx.peer_received));
    return std::unique_ptr<SendStrategy>(
        new MemfdSendfileStrategy(ctx.socket_fd, *ctx.payload, ctx.options.GetBool("unsafe_reuse"), std::move(gate)));
  };
  return info;
}

}  // namespace zcb
