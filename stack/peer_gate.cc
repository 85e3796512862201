#include "stack/peer_gate.h"

// <linux/tcp.h>, not <netinet/tcp.h>: glibc's struct tcp_info stops before
// tcpi_bytes_acked (the two headers cannot both be included).
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cstddef>

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

// Polls before the first sleep: the peer is often a few microseconds from the mark.
constexpr int kSpinPolls = 16;
// Sleeps grow from the first to the cap. The cap must stay far below the time the
// bytes in flight take to drain (a 4 MiB ring at loopback speed: about 1.5 ms), so that
// the receiver never runs dry while the sender sleeps.
constexpr std::chrono::microseconds kFirstSleep{20};
constexpr std::chrono::microseconds kMaxSleep{250};

Result<uint64_t> ReadBytesAcked(int fd) {
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return SysError("peer gate: getsockopt(TCP_INFO)");
  if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) {
    return Errorf(
        "peer gate: this kernel's TCP_INFO has no tcpi_bytes_acked (added in Linux 4.1), so there is no "
        "way to know what the peer has; run the receiver in this process or use a newer kernel");
  }
  return static_cast<uint64_t>(info.tcpi_bytes_acked);
}

Result<std::chrono::nanoseconds> SendTimeout(int fd) {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) != 0) return SysError("peer gate: getsockopt(SO_SNDTIMEO)");
  return std::chrono::nanoseconds(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
}

}  // namespace

std::string_view ToString(PeerGate::Signal s) {
  switch (s) {
    case PeerGate::Signal::kReceiverProgress:
      return "receiver progress";
    case PeerGate::Signal::kTcpBytesAcked:
      return "TCP bytes acked";
  }
  return "?";
}

Result<PeerGate> PeerGate::Create(int socket_fd, const std::atomic<uint64_t>* peer_received,
                                  std::chrono::nanoseconds timeout) {
  if (timeout <= std::chrono::nanoseconds::zero()) {
    ZCB_ASSIGN_OR_RETURN(timeout, SendTimeout(socket_fd));
    if (timeout <= std::chrono::nanoseconds::zero()) timeout = kDefaultTimeout;
  }
  uint64_t acked_base = 0;
  if (peer_received == nullptr) {
    // Stream offset 0 is where the acknowledged count will stand once everything
    // queued so far (nothing but the handshake, for a fresh socket) is acknowledged.
    ZCB_ASSIGN_OR_RETURN(uint64_t acked, ReadBytesAcked(socket_fd));
    int unacked = 0;
    if (::ioctl(socket_fd, SIOCOUTQ, &unacked) != 0) return SysError("peer gate: ioctl(SIOCOUTQ)");
    acked_base = acked + static_cast<uint64_t>(std::max(unacked, 0));
  }
  PeerGate gate(socket_fd, peer_received, acked_base, timeout);
  gate.stats_.signal = ToString(gate.signal()).data();  // a string literal: NUL-terminated
  return gate;
}

Result<uint64_t> PeerGate::PeerHas() const {
  if (peer_received_ != nullptr) return peer_received_->load(std::memory_order_acquire);
  ZCB_ASSIGN_OR_RETURN(uint64_t acked, ReadBytesAcked(socket_fd_));
  return acked > acked_base_ ? acked - acked_base_ : 0;
}

Status PeerGate::WaitFor(uint64_t stream_offset) {
  ++stats_.checks;
  if (known_ >= stream_offset) return OkStatus();
  ZCB_ASSIGN_OR_RETURN(known_, PeerHas());
  if (known_ >= stream_offset) return OkStatus();

  ++stats_.waits;
  const Clock::time_point start = Clock::now();
  const Clock::time_point give_up = start + timeout_;
  std::chrono::microseconds sleep = kFirstSleep;
  for (int poll = 0;; ++poll) {
    if (poll < kSpinPolls) {
      ::sched_yield();
    } else {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(sleep).count();
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      ::nanosleep(&ts, nullptr);
      sleep = std::min(sleep * 2, kMaxSleep);
    }
    ++stats_.polls;
    ZCB_ASSIGN_OR_RETURN(known_, PeerHas());
    const Clock::time_point now = Clock::now();
    if (known_ >= stream_offset) {
      stats_.wait_ns +=
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
      return OkStatus();
    }
    if (now >= give_up) {
      stats_.wait_ns +=
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
      return Errorf(
          "peer gate: waited {:.3g} s for the peer to have {} stream bytes before rewriting a lent buffer, "
          "but it has {} ({}): the receiver stopped reading",
          std::chrono::duration<double>(timeout_).count(), stream_offset, known_, ToString(signal()));
    }
  }
}

}  // namespace zcb
