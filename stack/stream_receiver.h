#pragma once

// The TCP receiver (sink): reads a stream to its end in one of the receiver modes and
// checks every byte against the pattern in `verify` mode.
//
//   verify    recv() into a buffer, compare with the pattern (memcmp against a reference)
//   read      recv() into a buffer, no check (the copy a real application pays)
//   discard   recv(MSG_TRUNC) of up to 2 MiB with SO_RCVLOWAT 64 KiB: the kernel drops
//             the bytes without copying them, and the receiver wakes once per 64 KiB at
//             most, so that it is never the bottleneck when the sender is measured (the
//             receiver of the kernel's msg_zerocopy selftest does the same)
//   zerocopy  TCP_ZEROCOPY_RECEIVE: whole pages of payload are mapped into a region
//             mmap()ed on the socket instead of copied; what cannot be mapped (partial
//             pages) is copied with recv(). Every byte is checked, mapped or copied.
//
// Any mode may be given another SO_RCVLOWAT (LowWaterRequest): how often a receiver wakes
// changes the ACKs the sender sees, so a comparison with another program's receiver sets
// the mark as that receiver does.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stack/mapped_region.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

struct IntegrityStats {
  ReceiverMode mode = ReceiverMode::kVerify;
  uint64_t verified_bytes = 0;
  uint64_t mismatches = 0;  // bytes that differ from the pattern
  std::optional<uint64_t> first_mismatch_offset;
};

struct ReceiveStats {
  uint64_t bytes_received = 0;
  uint64_t recv_calls = 0;
  IntegrityStats integrity;
  uint64_t mapped_bytes = 0;  // zerocopy mode: bytes received by page mapping
  uint64_t copied_bytes = 0;  // zerocopy mode: bytes that had to be copied
  std::chrono::steady_clock::time_point first_byte{};
  std::chrono::steady_clock::time_point last_byte{};
};

// How the receiver reads: what a record's params.receiver_settings holds.
struct ReceiverSettings {
  size_t recv_bytes = 0;  // the length each recv() asks for (zerocopy: each mapping)
  int rcvlowat = 1;       // SO_RCVLOWAT: recv() waits until this many bytes are queued (1: the kernel's default)
  // Wait for readiness with poll(POLLIN), then take what is queued with a non-blocking
  // recv(), as the kernel's msg_zerocopy selftest, liburing's send-zerocopy, iperf3 and
  // neper do; false: one blocking recv() per read, as netperf does. Why it matters: a
  // blocking recv() keeps the socket owned while it waits for the low-water mark and
  // drains the backlog, so the segments and ACKs of a loopback stream go through the
  // socket backlog instead of being processed as they come (measured on loopback:
  // 40 against 60 Gbit/s for 64 KiB messages into a MSG_TRUNC receiver).
  bool poll_before_recv = false;
  // Why low-water is off where the mode or the request would use it (empty otherwise).
  std::string rcvlowat_reason;
};

// The low-water mark a receiver is asked for: nullopt leaves it to the mode (discard
// 64 KiB, the others the kernel's 1 byte); a value sets SO_RCVLOWAT in any mode, so that
// a receiver can read as another program's does (1: wake for every byte, as most do).
// `allowed` false: a sender in this process waits until the receiver has read its bytes
// (PeerGate's receiver progress), and fewer than that many bytes queued would then wait
// for each other until the timeout: the receiver reads with 1 and the record says why.
struct LowWaterRequest {
  std::optional<int> bytes;
  bool allowed = true;
};

// "poll" or "recv": ReceiverSettings::poll_before_recv as a record names it.
inline std::string_view ReceiverWaitName(bool poll_before_recv) { return poll_before_recv ? "poll" : "recv"; }

class StreamReceiver {
 public:
  static constexpr size_t kDefaultBufferSize = 256 * 1024;
  // discard: what the msg_zerocopy selftest's receiver asks for per recv(MSG_TRUNC).
  static constexpr size_t kDiscardRecvBytes = 2 << 20;
  static constexpr int kDiscardLowWater = 64 << 10;
  // The largest low-water mark a request may ask for (the kernel caps SO_RCVLOWAT at half
  // the receive buffer's limit, net.ipv4.tcp_rmem[2]).
  static constexpr int kMaxLowWater = 16 << 20;
  // zerocopy: the span each TCP_ZEROCOPY_RECEIVE may map.
  static constexpr size_t kMapChunk = 512 * 1024;

  static Result<StreamReceiver> Create(ReceiverMode mode, const Pattern& pattern, LowWaterRequest low_water = {},
                                       size_t buffer_size = kDefaultBufferSize);
  // The settings Create(mode, ..., low_water) reads with.
  static ReceiverSettings SettingsFor(ReceiverMode mode, LowWaterRequest low_water,
                                      size_t buffer_size = kDefaultBufferSize);

  // Reads `fd` until the sender shuts the stream down. An error (reset, timeout) is
  // returned together with what was received so far, which the caller still records.
  Status Run(int fd);

  // A fault for the tests of a stalled peer: Run() returns, the stream unfinished, at the
  // first read that brings the count to `bytes` or more; stopped_reading() then says so.
  // The caller holds the connection open without reading (copying modes only: verify,
  // read, discard).
  void StopReadingAfter(uint64_t bytes) { stop_after_ = bytes; }
  bool stopped_reading() const { return stop_after_ && stats_.bytes_received >= *stop_after_; }
  const ReceiveStats& stats() const { return stats_; }
  // Bytes read so far, published after each recv() for a sender in this process that
  // gates buffer reuse on what the peer has (SendContext::peer_received).
  const std::atomic<uint64_t>& progress() const { return *progress_; }

 private:
  StreamReceiver(ReceiverMode mode, const Pattern& pattern, MappedRegion buffer, ReceiverSettings settings)
      : mode_(mode), pattern_(&pattern), buffer_(std::move(buffer)), settings_(std::move(settings)) {}
  void Check(uint64_t offset, const uint8_t* data, size_t len);
  void Account(const uint8_t* data, size_t len);
  Status SetLowWater(int fd) const;
  Status RunCopying(int fd);
  Status RunPolling(int fd);
  Status RunZeroCopy(int fd);

  ReceiverMode mode_;
  const Pattern* pattern_;
  MappedRegion buffer_;
  ReceiverSettings settings_;
  ReceiveStats stats_;
  std::optional<uint64_t> stop_after_;
  std::unique_ptr<std::atomic<uint64_t>> progress_ = std::make_unique<std::atomic<uint64_t>>(0);
};

}  // namespace zcb
