#pragma once

// The UDP receiver (sink): reads datagrams with recvmmsg() until the sender is done and
// the stragglers have drained, counts them by the sequence number in each one's header
// (stack/datagram.h), and in `verify` mode checks every datagram on its own.
//
//   verify    each datagram is copied in and its header and payload are checked
//   read      each datagram is copied in, only its header is looked at
//   discard   recvmmsg(MSG_TRUNC) with a 16-byte buffer: the kernel copies the header
//             and drops the rest, so the receiver is never the bottleneck
//
// With `gro` (UDP_GRO) the kernel may hand over several datagrams of one flow in one
// buffer with their segment size; they are split and counted one by one. In discard mode
// only the first datagram's header of such a buffer is copied: the sequence numbers of
// the others are inferred as consecutive (their count is exact).
//
// Counting (the record's metrics.udp): a datagram is `received` the first time its
// sequence number arrives, `duplicated` when it arrives again, `reordered` when it
// arrives after a higher sequence number did. lost = sent - received, so the counts
// always balance. Sequence numbers are tracked in a sliding window of
// SequenceTracker::kDefaultWindow numbers below the highest seen; one that arrives from
// further back cannot be told from a duplicate and is counted `stale` (not received).
//
// The end of a trial: a UDP receiver cannot see an end of stream. Receiver and sender
// run in one process, so the sender publishes how many datagrams it sent when it is done
// (DatagramEnd); the receiver stops once it has them all, or once no datagram arrived for
// the drain time after the sender finished. What has not arrived by then is lost.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <sys/socket.h>

#include "stack/mapped_region.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/stream_receiver.h"
#include "stack/types.h"
#include "stack/unique_fd.h"

namespace zcb {

// Sequence numbers seen, and what each new arrival is.
class SequenceTracker {
 public:
  static constexpr uint64_t kDefaultWindow = uint64_t{1} << 20;

  enum class Arrival { kNew, kReordered, kDuplicate, kStale };

  // `window`: sequence numbers remembered below the highest (a power of two).
  explicit SequenceTracker(uint64_t window = kDefaultWindow);

  Arrival Record(uint64_t sequence);
  // The full sequence number whose low `bits` bits are `low`, nearest to the highest seen
  // (RFC 3550 A.1), or `low` itself before the first arrival.
  uint64_t Extend(uint64_t low, unsigned bits) const;

  uint64_t received() const { return received_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t reordered() const { return reordered_; }
  uint64_t stale() const { return stale_; }
  std::optional<uint64_t> highest() const { return any_ ? std::optional<uint64_t>(highest_) : std::nullopt; }

 private:
  bool Test(uint64_t s) const { return (bits_[(s & mask_) >> 6] >> (s & 63)) & 1; }
  void Set(uint64_t s) { bits_[(s & mask_) >> 6] |= uint64_t{1} << (s & 63); }
  // Forgets the numbers first..last (inclusive; fewer than the window).
  void ClearRange(uint64_t first, uint64_t last);

  uint64_t window_;
  uint64_t mask_;
  std::vector<uint64_t> bits_;
  bool any_ = false;
  uint64_t highest_ = 0;
  uint64_t received_ = 0, duplicated_ = 0, reordered_ = 0, stale_ = 0;
};

// What the sender tells the receiver (both run in this process).
struct DatagramEnd {
  std::atomic<bool> sender_done{false};
  std::atomic<uint64_t> datagrams_sent{0};
  std::atomic<bool> abort{false};  // the trial failed elsewhere: stop now
};

struct DatagramReceiverConfig {
  ReceiverMode mode = ReceiverMode::kVerify;
  bool gro = false;
  uint32_t flow_id = 0;
  size_t batch = 64;                     // recvmmsg vector length
  size_t receive_buffer = 8 << 20;       // SO_RCVBUF asked for (SO_RCVBUFFORCE where allowed)
  std::chrono::milliseconds drain{500};  // quiet time after the sender finished
};

struct DatagramReceiveStats {
  uint64_t datagrams_received = 0;  // distinct sequence numbers
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t stale = 0;
  uint64_t malformed = 0;  // header does not match the flow id or the length
  uint64_t empty = 0;      // zero-length datagrams (carry no header)
  uint64_t corrupt = 0;    // verify: well-formed, payload differs from the pattern
  std::optional<uint64_t> first_corrupt_sequence;
  std::optional<uint64_t> highest_sequence;
  uint64_t bytes_received = 0;  // UDP payload bytes of everything that arrived
  uint64_t unique_bytes = 0;    // of first arrivals only
  uint64_t recv_calls = 0;
  uint64_t coalesced_buffers = 0;  // gro: buffers that held more than one datagram
  uint64_t queue_drops = 0;        // SO_RXQ_OVFL: dropped for a full receive queue
  bool queue_drops_known = false;
  uint64_t receive_buffer_bytes = 0;   // SO_RCVBUF in effect (as getsockopt reports it)
  bool receive_buffer_forced = false;  // SO_RCVBUFFORCE was used (over net.core.rmem_max)
  bool all_arrived = false;            // ended with every datagram sent received
  IntegrityStats integrity;            // verified_bytes: first arrivals that verified;
                                       // first_mismatch_offset: byte within the datagram
  std::chrono::steady_clock::time_point first_arrival{};
  std::chrono::steady_clock::time_point last_arrival{};
};

class DatagramReceiver {
 public:
  static Result<DatagramReceiver> Create(const DatagramReceiverConfig& config, const Pattern& pattern);

  // A UDP socket bound to `address` (port 0: any free port) with the receive options.
  Result<UniqueFd> OpenSocket(const sockaddr_storage& address);

  // Receives until the end described above. An error is returned together with what was
  // received so far, which the caller still records.
  Status Run(int fd, const DatagramEnd& end);

  const DatagramReceiveStats& stats() const { return stats_; }

  // Accounts one datagram as if it had arrived (exposed for tests): `data` holds its first
  // `available` bytes of `length`.
  void Account(const uint8_t* data, size_t available, size_t length);

 private:
  DatagramReceiver(const DatagramReceiverConfig& config, const Pattern& pattern)
      : config_(config), pattern_(&pattern) {}
  void AccountBuffer(const uint8_t* data, size_t available, size_t length, size_t segment);
  void FinishCounts();

  DatagramReceiverConfig config_;
  const Pattern* pattern_;
  size_t slot_bytes_ = 0;
  MappedRegion buffers_;
  std::vector<mmsghdr> messages_;
  std::vector<iovec> iovecs_;
  std::vector<uint8_t> control_;
  SequenceTracker tracker_;
  DatagramReceiveStats stats_;
};

}  // namespace zcb
