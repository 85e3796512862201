#pragma once

// PeerGate: "the peer has the stream bytes up to offset X", the condition on which a
// strategy that lends pages to the kernel without a completion notification (vmsplice,
// sendfile() of a memfd that is then rewritten) may rewrite them.
//
// Neither vmsplice nor sendfile says when the kernel lets go of the pages: the pipe,
// then the skb, then (on a path that delivers locally) the receiver's socket queue hold
// them by reference until the receiving application has read the bytes. So the gate
// asks the peer, in one of two ways:
//
//   receiver progress   the receiver runs in this process (SendContext::peer_received):
//                       the bytes it has read. The only safe signal on loopback or a veth
//                       pair, where an ACK is sent as soon as the skb (still pointing at
//                       our pages) is queued at the receiving socket.
//   TCP bytes acked     otherwise: TCP_INFO's tcpi_bytes_acked, minus what it counted
//                       before the first payload byte (the SYN: measured here, a
//                       connecting socket reads 1 after connect(), an accepted one 0; after
//                       N payload bytes are sent and acknowledged it reads N more). Right
//                       for a remote peer, whose ACK means the bytes left this host.
//
// Waiting polls with a short backoff (a brief spin, then sleeps growing to a cap) and
// gives up after a bounded time with an error that says what was waited for.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

class PeerGate {
 public:
  enum class Signal { kReceiverProgress, kTcpBytesAcked };

  // How long WaitFor waits before it fails when the socket has no send timeout
  // (SO_SNDTIMEO); with one, the gate gives up after that same time, like a send would.
  static constexpr std::chrono::seconds kDefaultTimeout{30};

  // A gate on `socket_fd`, a connected TCP socket on which no payload has been sent yet.
  // `peer_received` (may be null) is the in-process receiver's progress. `timeout` zero
  // means: the socket's send timeout, or kDefaultTimeout without one.
  static Result<PeerGate> Create(int socket_fd, const std::atomic<uint64_t>* peer_received,
                                 std::chrono::nanoseconds timeout = std::chrono::nanoseconds::zero());

  // Returns once the peer has every stream byte below `stream_offset`. Does not allocate
  // unless it fails (timeout, TCP_INFO unreadable).
  Status WaitFor(uint64_t stream_offset);

  // The stream bytes the peer has now.
  Result<uint64_t> PeerHas() const;

  Signal signal() const { return peer_received_ != nullptr ? Signal::kReceiverProgress : Signal::kTcpBytesAcked; }
  std::chrono::nanoseconds timeout() const { return timeout_; }
  const PeerGateStats& stats() const { return stats_; }

 private:
  PeerGate(int socket_fd, const std::atomic<uint64_t>* peer_received, uint64_t acked_base,
           std::chrono::nanoseconds timeout)
      : socket_fd_(socket_fd), peer_received_(peer_received), acked_base_(acked_base), timeout_(timeout) {}

  int socket_fd_;
  const std::atomic<uint64_t>* peer_received_;
  uint64_t acked_base_;  // tcpi_bytes_acked at stream offset 0 (the SYN, where counted)
  std::chrono::nanoseconds timeout_;
  uint64_t known_ = 0;  // the last reading: the peer had at least this much
  PeerGateStats stats_;
};

// Implemented by strategies that gate buffer reuse on a PeerGate, so that tests can see
// the gate's counts while the strategy runs (the record has them from
// SendStats::peer_gate after Finish()).
class PeerGated {
 public:
  virtual ~PeerGated() = default;
  virtual const PeerGateStats& peer_gate_stats() const = 0;
};

std::string_view ToString(PeerGate::Signal s);

}  // namespace zcb
