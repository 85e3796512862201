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

// Set-up flags that change where the kernel runs completion work (io_uring_setup(2)).
struct IoUringSetup {
  // IORING_SETUP_COOP_TASKRUN (5.19): completion work waits until the task next enters
  // the kernel instead of interrupting it with an IPI or a signal-like notification.
  bool coop_taskrun = false;
  // IORING_SETUP_SINGLE_ISSUER (6.0): only the creating thread submits, which lets the
  // kernel skip the ring lock. Submitting from another thread then fails with EEXIST.
  bool single_issuer = false;
  // IORING_SETUP_DEFER_TASKRUN (6.1, needs single_issuer): completion work runs only when
  // the task waits for completions (io_uring_enter with IORING_ENTER_GETEVENTS).
  bool defer_taskrun = false;
};

class IoUringRing {
 public:
  // A ring with `entries` submission entries (rounded up to a power of two by the
  // kernel) and twice as many completion entries.
  static Result<IoUringRing> Create(unsigned entries, const IoUringSetup& setup = {});

  io_uring* get() const { return ring_.get(); }
  unsigned sq_entries() const { return ring_->sq.ring_entries; }
  unsigned cq_entries() const { return ring_->cq.ring_entries; }

  // Registers `region` as fixed buffer 0 (io_uring_prep_send_zc_fixed with buf_index 0).
  Status RegisterBuffer(std::span<uint8_t> region);

  // Registers the ring's own fd (io_uring_register_ring_fd, 5.18), so that io_uring_enter
  // does not look it up and reference it on every call.
  Status RegisterRingFd();

  // Registers `fd` as fixed file 0: requests then name it by index (sqe->fd = 0 with
  // IOSQE_FIXED_FILE) and the kernel does not look up and reference the file per request.
  Status RegisterFile(int fd);

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
