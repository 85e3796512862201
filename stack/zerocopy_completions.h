#pragma once

// Zero-copy completion tracking: which lent buffers the kernel has given back.
//
// CompletionWindow is the bookkeeping both zero-copy strategies share. Every send that
// lends a buffer gets the next 64-bit sequence number; completions may arrive in any
// order and in ranges; the low watermark is the first sequence number not yet completed
// (everything below it is done). A buffer handed over with sequence number s may be
// rewritten once the watermark has passed s. The window holds at most `capacity`
// outstanding sends, which is how a strategy bounds the memory it keeps pinned.
//
// ErrqueueCompletions reads MSG_ZEROCOPY completions from a socket's error queue
// (recvmsg(MSG_ERRQUEUE), struct sock_extended_err with SO_EE_ORIGIN_ZEROCOPY). The
// kernel numbers the successful MSG_ZEROCOPY send calls of a socket 0, 1, 2, ... as a
// 32-bit counter that wraps; a notification covers the inclusive range ee_info..ee_data
// and says in ee_code whether the kernel had to copy the data after all
// (SO_EE_CODE_ZEROCOPY_COPIED; always so on local delivery).
//
// The copied/zero-copy split is exact only for notifications of one send. A range is
// coded as a whole: the sends that share one notification (TCP appends consecutive sends
// to one while its skb is queued) are all "copied" when any of them was; and a
// notification arriving while the previous one is still queued is merged into it when
// the ids are adjacent, keeping the queued one's code whatever its own was
// (skb_zerocopy_notify_extend in net/core/skbuff.c compares ids, never codes). Sends
// completed through ranges are counted (ZeroCopyStats::ranged) so the record can say
// when the split is approximate.

#include <chrono>
#include <cstdint>
#include <vector>

#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

class CompletionWindow {
 public:
  // `capacity`: the most outstanding sequence numbers (at least 1).
  explicit CompletionWindow(size_t capacity);

  // Numbers the next send; the window must not be full.
  uint64_t Issue();
  // Marks [first, first + count) completed. Fails (and changes nothing) for numbers that
  // were never issued or are already completed: a kernel or bookkeeping bug.
  Status Complete(uint64_t first, uint64_t count);

  uint64_t issued() const { return issued_; }        // sequence numbers handed out so far
  uint64_t watermark() const { return watermark_; }  // all below it are completed
  uint64_t completed() const { return completed_; }  // completed so far, in any order
  uint64_t outstanding() const { return issued_ - completed_; }
  size_t capacity() const { return capacity_; }
  bool full() const { return issued_ - watermark_ >= capacity_; }
  bool IsCompleted(uint64_t seq) const { return seq < watermark_; }

 private:
  bool Bit(uint64_t seq) const { return (bits_[(seq & mask_) / 64] >> (seq & 63)) & 1; }
  void SetBit(uint64_t seq, bool on);

  size_t capacity_;
  uint64_t mask_;               // ring of done flags, a power of two >= capacity
  std::vector<uint64_t> bits_;  // done flags of [watermark_, issued_), indexed by seq & mask_
  uint64_t issued_ = 0;
  uint64_t watermark_ = 0;
  uint64_t completed_ = 0;
};

// How long a zero-copy strategy waits for the kernel without any progress before it gives
// up: the socket's SO_SNDTIMEO (what the harness sets from its receive timeout), or
// `fallback` when the socket has none.
std::chrono::milliseconds CompletionTimeout(int fd, std::chrono::milliseconds fallback = std::chrono::seconds(10));

// The sequence number of kernel id `id` (the low 32 bits of a sequence number), given
// the watermark: the one at or above it. The outstanding window is far smaller than 2^32,
// so the answer is unique across the kernel counter's wrap.
inline uint64_t UnwrapZerocopyId(uint64_t watermark, uint32_t id) {
  return watermark + static_cast<uint32_t>(id - static_cast<uint32_t>(watermark));
}

// UDP senders: how long Finish() waits without progress for the last completions before
// it records the sends still lent (ZeroCopyStats::outstanding_at_end) instead of
// failing. A datagram's pages can stay referenced long after the receiver has it (IP
// fragments in a reassembly queue, a freed skb parked on another CPU's defer list), and
// the receiver has accounted for every datagram by then.
inline constexpr std::chrono::milliseconds kDatagramFinalStall{1000};

class ErrqueueCompletions {
 public:
  // `fd`: a socket with SO_ZEROCOPY set on which no MSG_ZEROCOPY send has been made yet
  // (the kernel's numbering starts at 0). `max_inflight` bounds outstanding sends.
  ErrqueueCompletions(int fd, size_t max_inflight, std::chrono::milliseconds timeout);

  // Records one successful MSG_ZEROCOPY send call; returns its sequence number.
  uint64_t Issued() { return window_.Issue(); }

  // Reads every notification already queued, without blocking. `*progress` (optional)
  // says whether any arrived.
  Status Drain(bool* progress = nullptr);
  // Blocks (poll for POLLERR) until at least one notification arrived and drains them.
  // Fails after the timeout without one, or when the connection failed. `waiting_for`
  // names the reason in the error ("a free slot", "send 812").
  Status WaitForProgress(const char* waiting_for);
  // Blocks until sequence number `seq` and all before it are completed.
  Status WaitFor(uint64_t seq);
  // Blocks until every issued send is completed: Finish(). After the timeout (or
  // `stall`) without progress it fails with errno ETIMEDOUT.
  Status WaitAll();
  Status WaitAll(std::chrono::milliseconds stall);

  const CompletionWindow& window() const { return window_; }
  // completions, copied and zerocopy (enobufs_retries is the strategy's).
  const ZeroCopyStats& stats() const { return stats_; }

  // Accounts one notification for kernel ids lo..hi (inclusive, may wrap) with its
  // copied code: what Drain() does with each one read. Public so that the accounting can
  // be fed ranges and codes that local delivery never produces.
  Status Notify(uint32_t lo, uint32_t hi, bool copied);

 private:
  Status WaitForProgress(const char* waiting_for, std::chrono::milliseconds stall);
  Error Stalled(const char* waiting_for, std::chrono::milliseconds after) const;

  int fd_;
  std::chrono::milliseconds timeout_;
  CompletionWindow window_;
  ZeroCopyStats stats_;
};

}  // namespace zcb
