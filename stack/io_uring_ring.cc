#include "stack/io_uring_ring.h"

#include <sys/uio.h>

#include <cerrno>
#include <fstream>

namespace zcb {

void IoUringRing::Exit::operator()(io_uring* ring) const {
  io_uring_queue_exit(ring);
  delete ring;
}

Result<IoUringRing> IoUringRing::Create(unsigned entries, const IoUringSetup& setup) {
  // The struct stays at one address for its life: liburing keeps pointers into the
  // rings in it, and the strategies keep pointers to it.
  auto ring = std::make_unique<io_uring>();
  unsigned flags = 0;
  std::string named;
  auto add = [&](bool on, unsigned flag, const char* name) {
    if (!on) return;
    flags |= flag;
    named += named.empty() ? name : std::string(" | ") + name;
  };
  add(setup.coop_taskrun, IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN");
  add(setup.single_issuer, IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER");
  add(setup.defer_taskrun, IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN");
  const int rc = io_uring_queue_init(entries, ring.get(), flags);
  if (rc < 0) {
    std::string why =
        rc == -EPERM ? " (io_uring is disabled: see /proc/sys/kernel/io_uring_disabled, or a seccomp filter refuses it)"
        : rc == -ENOSYS ? " (this kernel has no io_uring)"
        : rc == -ENOMEM ? " (ring memory: lower the depth, or raise the locked-memory limit, ulimit -l)"
        : rc == -EINVAL && flags != 0
            ? " (this kernel refuses the set-up flags: COOP_TASKRUN needs Linux 5.19, SINGLE_ISSUER 6.0, "
              "DEFER_TASKRUN 6.1; turn the strategy's ring options off)"
            : "";
    return Error(
        -rc, fmt::format("io_uring_queue_init({} entries, flags {}){}", entries, named.empty() ? "none" : named, why));
  }
  return IoUringRing(std::unique_ptr<io_uring, Exit>(ring.release()));
}

Status IoUringRing::RegisterBuffer(std::span<uint8_t> region) {
  iovec iov{region.data(), region.size()};
  const int rc = io_uring_register_buffers(ring_.get(), &iov, 1);
  if (rc < 0) {
    return Error(-rc,
                 fmt::format("io_uring_register_buffers of the {}-byte send region{}", region.size(),
                             rc == -ENOMEM ? " (pinned memory is charged to the locked-memory limit, ulimit -l)" : ""));
  }
  return OkStatus();
}

Status IoUringRing::RegisterRingFd() {
  const int rc = io_uring_register_ring_fd(ring_.get());
  // liburing returns the number of fds registered (1) on success.
  if (rc < 0) return Error(-rc, "io_uring_register_ring_fd (Linux 5.18 or later)");
  return OkStatus();
}

Status IoUringRing::RegisterFile(int fd) {
  const int rc = io_uring_register_files(ring_.get(), &fd, 1);
  if (rc < 0) return Error(-rc, fmt::format("io_uring_register_files of fd {}", fd));
  return OkStatus();
}

Result<bool> IoUringRing::Supports(int opcode) const {
  io_uring_probe* probe = io_uring_get_probe_ring(ring_.get());
  if (probe == nullptr) return Errorf("io_uring_get_probe_ring failed (a kernel before 5.6 cannot probe opcodes)");
  const bool supported = io_uring_opcode_supported(probe, opcode) != 0;
  io_uring_free_probe(probe);
  return supported;
}

static Error SingleIssuerError() {
  return Error(EEXIST,
               "io_uring_enter: the ring was set up with SINGLE_ISSUER and this thread is not the one that "
               "created it");
}

Result<io_uring_cqe*> IoUringRing::SubmitAndWait(std::chrono::milliseconds timeout) {
  // As liburing's send benchmark does: submit, then take a completion that is already
  // there (a send completes inline when the socket has room) without entering the kernel
  // again; only when there is none, wait with the timeout (io_uring_enter with
  // GETEVENTS and a timeout argument, and two clock reads).
  if (io_uring_sq_ready(ring_.get()) > 0) {
    const int rc = io_uring_submit(ring_.get());
    if (rc == -EEXIST) return SingleIssuerError();
    // EAGAIN, EBUSY, EINTR: what was not submitted goes with the wait below.
    if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) return Error(-rc, "io_uring_submit");
  }
  io_uring_cqe* ready = nullptr;
  if (io_uring_peek_cqe(ring_.get(), &ready) == 0 && ready != nullptr) return ready;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(ETIME, fmt::format("no io_uring completion within {} ms", timeout.count()));
    __kernel_timespec ts{};
    ts.tv_sec = left.count() / 1000000000;
    ts.tv_nsec = left.count() % 1000000000;
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &ts, nullptr);
    if (cqe != nullptr) return cqe;
    if (rc == -EINTR || rc == -ETIME || rc >= 0) continue;
    if (rc == -EEXIST) return SingleIssuerError();
    return Error(-rc, "io_uring_submit_and_wait_timeout");
  }
}

Availability ProbeIoUring(int opcode, const char* opcode_name) {
  std::string disabled;
  if (std::ifstream f("/proc/sys/kernel/io_uring_disabled"); f) std::getline(f, disabled);
  if (disabled == "2") {
    return {false,
            "io_uring is disabled on this host (kernel.io_uring_disabled = 2); "
            "set it to 0 with sysctl to run io_uring strategies"};
  }
  auto ring = IoUringRing::Create(8);
  if (!ring.ok()) {
    std::string reason = ring.error().ToString();
    if (disabled == "1")
      reason += "; kernel.io_uring_disabled = 1 allows io_uring only to CAP_SYS_ADMIN and kernel.io_uring_group";
    return {false, reason};
  }
  auto supported = ring->Supports(opcode);
  if (!supported.ok()) return {false, supported.error().ToString()};
  if (!*supported) return {false, fmt::format("this kernel's io_uring does not support {}", opcode_name)};
  return {};
}

}  // namespace zcb
