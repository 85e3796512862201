#pragma once

// The SendStrategy interface: one way of moving bytes from the application into a
// socket. Like a fio engine, a strategy is a small operations interface plus a
// declaration (StrategyInfo) of what it can do; the harness and the receivers branch on
// the declared capabilities, never on the name.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stack/options.h"
#include "stack/payload.h"
#include "stack/response.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

// Zero-copy completion accounting. For strategies that lend buffers to the kernel every
// send is eventually completed; the kernel says whether it really avoided the copy.
struct ZeroCopyStats {
  uint64_t completions = 0;  // sends completed (MSG_ZEROCOPY ids, io_uring notifications)
  uint64_t copied = 0;       // of those, completed with the "copied" flag
  uint64_t zerocopy = 0;     // of those, completed without a copy
  // Sends completed by a notification that covered more than one send. The kernel merges
  // a notification into the adjacent one still queued without comparing their codes
  // (net/core/skbuff.c skb_zerocopy_notify_extend), and one send's copy marks every send
  // sharing its notification as copied: these sends' split is the range's, not their own.
  uint64_t ranged = 0;
  uint64_t enobufs_retries = 0;  // sends refused for the optmem limit, reaped and retried
  // UDP: sends whose completion had not come when the sender stopped waiting at the end
  // (a datagram cut into IP fragments stays lent while its fragments wait in the
  // receiver's reassembly queue for one that was lost: up to net.ipv4.ipfrag_time).
  uint64_t outstanding_at_end = 0;
};

// How often, and how long, a strategy that lends pages without completions (vmsplice,
// memfd_sendfile) waited for the peer before rewriting them (stack/peer_gate.h).
struct PeerGateStats {
  const char* signal = "";  // what the gate asked: "receiver progress" or "TCP bytes acked"
  uint64_t checks = 0;      // WaitFor calls
  uint64_t waits = 0;       // of those, calls that found the peer behind and had to wait
  uint64_t polls = 0;       // progress readings taken while waiting
  uint64_t wait_ns = 0;     // time spent waiting
};

struct SendStats {
  uint64_t send_calls = 0;  // system calls (or submitted SQEs) that carried payload
  uint64_t bytes_sent = 0;  // payload bytes accepted by the kernel
  ZeroCopyStats zerocopy;
  uint64_t datagrams = 0;                  // UDP: datagrams accepted, numbered 0 .. datagrams - 1
  std::optional<PeerGateStats> peer_gate;  // strategies that gate reuse on the peer, after Finish()
};

// The sender's end of an Ethernet link, for a strategy that writes whole frames itself
// (packet_tx_ring). The trial flow fills it in from a path with a link layer.
struct LinkEndpoint {
  int ifindex = 0;
  std::array<uint8_t, 6> source_mac{};
  std::array<uint8_t, 6> next_hop_mac{};
  int mtu = 0;
};

// What a strategy gets to work with. The socket is connected and blocking.
struct SendContext {
  int socket_fd = -1;
  Protocol protocol = Protocol::kTcp;
  Payload* payload = nullptr;  // owned by the caller; outlives the strategy
  size_t message_size = 0;     // the largest message Send() will be asked for
  Options options;             // validated against StrategyInfo::options
  // Stream bytes the receiving application has read, where the receiver runs in this
  // process on a path with local delivery (null otherwise). On such a path a TCP ACK
  // does not mean the peer has the bytes: spliced and sendfile()d pages sit, by
  // reference, in the receiver's socket queue until it reads them. Strategies that gate
  // buffer reuse on "the peer has it" (vmsplice, memfd_sendfile) use this when set and
  // TCP_INFO's bytes acknowledged otherwise.
  const std::atomic<uint64_t>* peer_received = nullptr;
  // UDP (stack/datagram.h): the flow id every datagram header carries. The socket is a
  // connected UDP socket; Send(offset, len) hands `len` bytes over as one datagram, or,
  // for a strategy that cuts a send into datagrams (udp_gso), as several. A batching
  // strategy (sendmmsg, packet_tx_ring) may hold datagrams until its batch is full or
  // Finish(). The strategy numbers the datagrams 0, 1, 2, ... in the order they leave and
  // counts them in SendStats::datagrams.
  uint32_t flow_id = 0;
  // Set when the path has a link layer (NetworkPath::link_layer()).
  std::optional<LinkEndpoint> link;
};

class SendStrategy {
 public:
  virtual ~SendStrategy() = default;

  // Sends exactly `len` bytes: stream bytes [offset, offset + len). Called with
  // consecutive offsets. Must not allocate or throw.
  virtual Status Send(uint64_t offset, size_t len) = 0;

  // Waits until the kernel has given back every lent buffer (all completions reaped).
  // Called once after the last Send, before the socket is shut down.
  virtual Status Finish() { return OkStatus(); }

  // Sends one server response (stack/response.h): its header, then its file range, on
  // response.socket_fd, whole before it returns. Only for a strategy whose
  // Capabilities::sends_responses is set; for the others it is an error naming the
  // capability. Must not allocate.
  virtual Status SendResponse(const Response& response);

  const SendStats& stats() const { return stats_; }

 protected:
  SendStats stats_;
};

struct Capabilities {
  EnumSet<Protocol> protocols;
  std::vector<SourceKind> sources;     // payload sources it can send, best first
  bool lends_buffers = false;          // the kernel reads the buffer after the call returns
  bool reports_zerocopy = false;       // ZeroCopyStats are meaningful
  bool supports_unsafe_reuse = false;  // has the `unsafe_reuse` option
  bool needs_link_layer = false;       // writes Ethernet frames: needs a path with a link layer
  bool waits_for_reader = false;       // rewrites a buffer only once the receiver read it (PeerGate)
  // Has SendResponse: serves a server's response (a generated header, then a range of an
  // open file) per request, on any connection (stack/response.h).
  bool sends_responses = false;
};

// Whether the strategy can run on this machine, and if not, why.
struct Availability {
  bool available = true;
  std::string reason;
};

struct StrategyInfo {
  std::string name;
  std::string summary;
  Capabilities caps;
  std::vector<OptionSpec> options;
  std::function<Availability()> probe;
  // Checks that the options' own types and ranges cannot express (combinations, options
  // against the trial's protocol or message size), made when the trial is resolved so
  // that they are usage errors before anything runs. May be empty.
  std::function<Status(const Options& options, Protocol protocol, uint64_t message_size)> validate;
  std::function<Result<std::unique_ptr<SendStrategy>>(const SendContext&)> create;

  bool CanSend(SourceKind s) const;
  bool Speaks(Protocol p) const { return caps.protocols.Has(p); }
  // The source `zcbench run` uses when none is given: the first the strategy can send.
  SourceKind DefaultSource() const { return caps.sources.front(); }
};

}  // namespace zcb
