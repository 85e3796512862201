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
//
// A server's response (SendResponse): header AND body copied into the ring (the header
// generated, the body read from its file), a slot's worth at a time, each piece sent
// with sendfile() from the memfd, on the response's connection. A slot is reused only
// after the peer has the bytes it last carried, by the same PeerGate as Send(): where the
// receiver runs in this process the gate reads its application-level progress (the bytes
// it has read), because on a path with local delivery the socket's ACK comes when the
// memfd's pages are queued, by reference, at the receiver, long before it copies them
// out; elsewhere it reads TCP_INFO's bytes acknowledged, which on a real link means the
// peer's stack has copied them. With `unsafe_reuse` the slot's body bytes are inverted
// right after sendfile() returns (the head is left, so that the client can still frame
// the response and count it corrupted). A response on another connection than the
// strategy's (file_serving's connection per request) is not on the stream the gate
// follows: SendResponse waits, before it returns, until that connection's bytes are
// acknowledged (TCP_INFO; there is no receiver progress per connection), so its slots
// are free when it returns. On local delivery that ACK comes when the pages are queued
// at the receiver, not read; file_serving's server then waits for the client's close
// before it takes the next request, so the client has read them before a slot is
// rewritten.

#include <algorithm>
#include <optional>
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
    stream_bytes_ += len;
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    const bool own_stream = response.socket_fd == socket_fd_;
    std::optional<PeerGate> connection;  // a connection of its own, made before its first byte
    if (!own_stream && !unsafe_reuse_) {
      ZCB_ASSIGN_OR_RETURN(PeerGate gate, PeerGate::Create(response.socket_fd, nullptr));
      connection.emplace(std::move(gate));
    }
    const uint64_t total = response.size();
    for (uint64_t at = 0; at < total;) {
      const size_t slot = next_slot_;
      next_slot_ = (next_slot_ + 1) % slot_gates_.size();
      if (!unsafe_reuse_) ZCB_RETURN_IF_ERROR(gate_.WaitFor(slot_gates_[slot]));
      const size_t len = static_cast<size_t>(std::min<uint64_t>(payload_.slot_size(), total - at));
      const size_t file_offset = slot * payload_.slot_size();
      uint8_t* data = payload_.ring().data() + file_offset;
      ZCB_RETURN_IF_ERROR(CopyResponseBytes(response, at, {data, len}, &reads_));
      ZCB_RETURN_IF_ERROR(
          SendfileAll(response.socket_fd, payload_.fd(), static_cast<off_t>(file_offset), len, &stats_.send_calls));
      stats_.bytes_sent += len;
      if (own_stream) stream_bytes_ += len;
      if (unsafe_reuse_) {
        // Break the rule on purpose: the socket still references these pages.
        const size_t body_from = at < response.header.size() ? static_cast<size_t>(response.header.size() - at) : 0;
        for (size_t i = body_from; i < len; ++i) data[i] = static_cast<uint8_t>(~data[i]);
      } else {
        slot_gates_[slot] = stream_bytes_;  // on another connection: free once it is acknowledged, below
      }
      at += len;
    }
    return connection ? connection->WaitFor(total) : OkStatus();
  }

  Status Finish() override {
    Status s = unsafe_reuse_ ? OkStatus() : gate_.WaitFor(stream_bytes_);
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
  uint64_t stream_bytes_ = 0;  // bytes sent on socket_fd_: the stream the gate follows
  uint64_t reads_ = 0;
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
  info.caps.sends_responses = true;
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
