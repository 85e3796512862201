#pragma once

// IoUringRing owns one struct io_uring (liburing): the rings are unmapped and the fd
// closed once, on every exit path. Registered buffers go with the ring.
//
// ProbeIoUring answers "can this process use io_uring, with this opcode?" with the
// reason when it cannot: io_uring disabled by sysctl (kernel.io_uring_disabled), refused
// by a seccomp filter or container runtime, or a kernel too old for the opcode.

#include <liburing.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

class IoUringRing {
 public:
  // A ring with `entries` submission entries (rounded up to a power of two by the
  // kernel) and twice as many completion entries.
  static Result<IoUringRing> Create(unsigned entries);

  io_uring* get() const { return ring_.get(); }
  unsigned sq_entries() const { return ring_->sq.ring_entries; }
  unsigned cq_entries() const { return ring_->cq.ring_entries; }

  // Registers `region` as fixed buffer 0 (io_uring_prep_send_zc_fixed with buf_index 0).
  Status RegisterBuffer(std::span<uint8_t> region);

  // Whether the kernel supports `opcode` (io_uring_get_probe_ring).
  Result<bool> Supports(int opcode) const;

  // The next completion, waiting up to `timeout` (submitting whatever is queued first).
  // Returns -ETIME's Error on timeout. The caller marks it seen (io_uring_cqe_seen).
  Result<io_uring_cqe*> SubmitAndWait(std::chrono::milliseconds timeout);

 private:
  struct Exit {
    void operator()(io_uring* ring) const;
  };
  explicit IoUringRing(std::unique_ptr<io_uring, Exit> ring) : ring_(std::move(ring)) {}

  std::unique_ptr<io_uring, Exit> ring_;
};

// Availability of io_uring with `opcode` (named `opcode_name` in the reason).
Availability ProbeIoUring(int opcode, const char* opcode_name);

}  // namespace zcb
