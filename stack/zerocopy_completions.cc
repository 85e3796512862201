#include "stack/zerocopy_completions.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>

namespace zcb {

CompletionWindow::CompletionWindow(size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity),
      mask_(std::bit_ceil(std::max<uint64_t>(capacity_, 64)) - 1),
      bits_((mask_ + 1) / 64, 0) {}

void CompletionWindow::SetBit(uint64_t seq, bool on) {
  uint64_t& word = bits_[(seq & mask_) / 64];
  const uint64_t bit = uint64_t{1} << (seq & 63);
  word = on ? (word | bit) : (word & ~bit);
}

uint64_t CompletionWindow::Issue() { return issued_++; }

Status CompletionWindow::Complete(uint64_t first, uint64_t count) {
  if (count == 0) return OkStatus();
  if (first < watermark_ || first + count > issued_ || first + count < first) {
    return Errorf("completion of sends {}..{} outside the outstanding range {}..{}", first, first + count - 1,
                  watermark_, issued_ == 0 ? 0 : issued_ - 1);
  }
  for (uint64_t s = first; s < first + count; ++s) {
    if (Bit(s)) return Errorf("send {} completed twice", s);
  }
  for (uint64_t s = first; s < first + count; ++s) SetBit(s, true);
  completed_ += count;
  while (watermark_ < issued_ && Bit(watermark_)) {
    SetBit(watermark_, false);
    ++watermark_;
  }
  return OkStatus();
}

std::chrono::milliseconds CompletionTimeout(int fd, std::chrono::milliseconds fallback) {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 && (tv.tv_sec > 0 || tv.tv_usec > 0)) {
    return std::chrono::milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
  }
  return fallback;
}

ErrqueueCompletions::ErrqueueCompletions(int fd, size_t max_inflight, std::chrono::milliseconds timeout)
    : fd_(fd), timeout_(timeout), window_(max_inflight) {}

Status ErrqueueCompletions::Notify(uint32_t lo, uint32_t hi, bool copied) {
  // An inclusive range of 32-bit ids, which may straddle the counter's wrap.
  const uint64_t count = static_cast<uint64_t>(static_cast<uint32_t>(hi - lo)) + 1;
  const uint64_t first = UnwrapZerocopyId(window_.watermark(), lo);
  Status s = window_.Complete(first, count);
  if (!s.ok()) {
    return Errorf("MSG_ZEROCOPY notification for ids {}..{}: {}", lo, hi, s.error().what());
  }
  stats_.completions += count;
  (copied ? stats_.copied : stats_.zerocopy) += count;
  if (count > 1) stats_.ranged += count;
  return OkStatus();
}

Status ErrqueueCompletions::Drain(bool* progress) {
  if (progress != nullptr) *progress = false;
  for (;;) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in6))];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return OkStatus();
      return SysError("recvmsg(MSG_ERRQUEUE) for MSG_ZEROCOPY completions");
    }
    bool seen = false;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      const bool recverr = (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
                           (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR);
      if (!recverr) continue;
      const auto* ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(cm));
      if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno != 0) {
        return Error(ee->ee_errno, fmt::format("unexpected error-queue message (origin {}, type {}, code {}) "
                                               "while reading MSG_ZEROCOPY completions",
                                               ee->ee_origin, ee->ee_type, ee->ee_code));
      }
      ZCB_RETURN_IF_ERROR(Notify(ee->ee_info, ee->ee_data, (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0));
      seen = true;
    }
    if (!seen) {
      return Errorf("error-queue message without a MSG_ZEROCOPY notification (control data {} bytes{})",
                    msg.msg_controllen, (msg.msg_flags & MSG_CTRUNC) ? ", truncated" : "");
    }
    if (progress != nullptr) *progress = true;
  }
}

Error ErrqueueCompletions::Stalled(const char* waiting_for, std::chrono::milliseconds after) const {
  const uint64_t lo = window_.watermark();
  const uint64_t hi = window_.issued() - 1;
  return Error(
      ETIMEDOUT,
      fmt::format("MSG_ZEROCOPY: {} of {} sends not completed after {} ms without progress while waiting for {} "
                  "(sequence numbers {}..{}, kernel ids {}..{}); the kernel still holds their buffers: "
                  "the receiver may have stopped reading",
                  window_.outstanding(), window_.issued(), after.count(), waiting_for, lo, hi,
                  static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)));
}

Status ErrqueueCompletions::WaitForProgress(const char* waiting_for) { return WaitForProgress(waiting_for, timeout_); }

Status ErrqueueCompletions::WaitForProgress(const char* waiting_for, std::chrono::milliseconds stall) {
  bool progress = false;
  ZCB_RETURN_IF_ERROR(Drain(&progress));
  if (progress) return OkStatus();
  if (window_.outstanding() == 0) return Errorf("waiting for {} with no MSG_ZEROCOPY send outstanding", waiting_for);
  const auto deadline = std::chrono::steady_clock::now() + stall;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Stalled(waiting_for, stall);
    pollfd pfd{fd_, POLLERR, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return SysError("poll for MSG_ZEROCOPY completions");
    }
    if (rc == 0) continue;
    ZCB_RETURN_IF_ERROR(Drain(&progress));
    if (progress) return OkStatus();
    // POLLERR without a notification: the connection itself failed.
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      return Error(err, fmt::format("the connection failed while waiting for {} MSG_ZEROCOPY completions",
                                    window_.outstanding()));
    }
    if (pfd.revents & POLLNVAL) return Errorf("poll for MSG_ZEROCOPY completions: the socket is not open");
  }
}

Status ErrqueueCompletions::WaitFor(uint64_t seq) {
  while (!window_.IsCompleted(seq)) ZCB_RETURN_IF_ERROR(WaitForProgress("the completion that frees a buffer"));
  return OkStatus();
}

Status ErrqueueCompletions::WaitAll() { return WaitAll(timeout_); }

Status ErrqueueCompletions::WaitAll(std::chrono::milliseconds stall) {
  while (window_.watermark() < window_.issued()) ZCB_RETURN_IF_ERROR(WaitForProgress("the last completions", stall));
  return OkStatus();
}

}  // namespace zcb
