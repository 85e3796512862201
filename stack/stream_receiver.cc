#include "stack/stream_receiver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "stack/socket_io.h"

namespace zcb {

ReceiverSettings StreamReceiver::SettingsFor(ReceiverMode mode, LowWaterRequest low_water, size_t buffer_size) {
  ReceiverSettings settings;
  settings.recv_bytes = mode == ReceiverMode::kZeroCopy ? kMapChunk : RoundUp(buffer_size, PageSize());
  // zerocopy waits in poll() before each TCP_ZEROCOPY_RECEIVE (RunZeroCopy).
  settings.poll_before_recv = mode == ReceiverMode::kZeroCopy;
  // MSG_TRUNC on TCP drops the bytes without touching a buffer: the length only bounds
  // how much one call may drop.
  if (mode == ReceiverMode::kDiscard) {
    settings.recv_bytes = kDiscardRecvBytes;
    settings.poll_before_recv = true;
  }
  const int wanted = low_water.bytes.value_or(mode == ReceiverMode::kDiscard ? kDiscardLowWater : 1);
  if (wanted <= 1) return settings;
  if (low_water.allowed) {
    settings.rcvlowat = wanted;
  } else {
    settings.rcvlowat_reason = "the sender waits until the receiver has read its bytes before it rewrites a buffer";
  }
  return settings;
}

Result<StreamReceiver> StreamReceiver::Create(ReceiverMode mode, const Pattern& pattern, LowWaterRequest low_water,
                                              size_t buffer_size) {
  if (low_water.bytes && (*low_water.bytes < 1 || *low_water.bytes > kMaxLowWater)) {
    return Usagef("receiver: a low-water mark of {} bytes; expected 1 to {}", *low_water.bytes, kMaxLowWater);
  }
  ZCB_ASSIGN_OR_RETURN(MappedRegion buffer, MappedRegion::Anonymous(RoundUp(buffer_size, PageSize())));
  StreamReceiver receiver(mode, pattern, std::move(buffer), SettingsFor(mode, low_water, buffer_size));
  receiver.stats_.integrity.mode = mode;
  return receiver;
}

void StreamReceiver::Check(uint64_t offset, const uint8_t* data, size_t len) {
  IntegrityStats& integrity = stats_.integrity;
  const ptrdiff_t bad = pattern_->FindMismatch(offset, {data, len});
  if (bad >= 0) {
    if (!integrity.first_mismatch_offset) integrity.first_mismatch_offset = offset + static_cast<uint64_t>(bad);
    integrity.mismatches += pattern_->CountMismatches(offset, {data, len});
  }
  integrity.verified_bytes += len;
}

Status StreamReceiver::Run(int fd) {
  ZCB_RETURN_IF_ERROR(SetLowWater(fd));
  if (mode_ == ReceiverMode::kZeroCopy) return RunZeroCopy(fd);
  return settings_.poll_before_recv ? RunPolling(fd) : RunCopying(fd);
}

// The socket's SO_RCVTIMEO as a poll() timeout (-1: none), so that a receiver that waits
// in poll() gives up when a blocking recv() would.
static int ReceiveTimeoutMs(int fd) {
  timeval tv{};
  socklen_t tv_len = sizeof tv;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tv_len);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return -1;
  return static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

// SO_RCVLOWAT as the settings say, read back: the kernel lowers a mark above half the
// receive buffer's limit without an error, and the record must hold what was in effect.
Status StreamReceiver::SetLowWater(int fd) const {
  if (settings_.rcvlowat <= 1) return OkStatus();
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &settings_.rcvlowat, sizeof settings_.rcvlowat) != 0) {
    return SysError(fmt::format("receiver: setsockopt(SO_RCVLOWAT, {})", settings_.rcvlowat));
  }
  int in_effect = 0;
  socklen_t len = sizeof in_effect;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &in_effect, &len) != 0) {
    return SysError("receiver: getsockopt(SO_RCVLOWAT)");
  }
  if (in_effect != settings_.rcvlowat) {
    return Errorf(
        "receiver: SO_RCVLOWAT reads back {} after setting {} (the kernel caps it at half of "
        "net.ipv4.tcp_rmem[2]); ask for a lower mark",
        in_effect, settings_.rcvlowat);
  }
  return OkStatus();
}

// Counts `len` bytes that just arrived at the end of the stream (and checks them where
// the mode does).
void StreamReceiver::Account(const uint8_t* data, size_t len) {
  const auto now = std::chrono::steady_clock::now();
  if (stats_.bytes_received == 0) stats_.first_byte = now;
  stats_.last_byte = now;
  if (mode_ == ReceiverMode::kVerify || mode_ == ReceiverMode::kZeroCopy) Check(stats_.bytes_received, data, len);
  stats_.bytes_received += len;
  progress_->store(stats_.bytes_received, std::memory_order_release);
}

static Error RecvError(uint64_t received) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    return Errorf("receiver: no data for the receive timeout after {} bytes: the sender stalled or went away",
                  received);
  }
  return SysError(fmt::format("receiver: recv after {} bytes", received));
}

Status StreamReceiver::RunCopying(int fd) {
  const bool discard = mode_ == ReceiverMode::kDiscard;
  // A blocking recv() honours SO_RCVLOWAT (it returns once that many bytes are queued,
  // at the end of the stream, or at the receive timeout with what there is), as poll()
  // does for the selftest's receiver, in one call instead of two.
  uint8_t* const into = discard ? nullptr : buffer_.data();
  const size_t want = discard ? settings_.recv_bytes : buffer_.size();
  const int flags = discard ? MSG_TRUNC : 0;
  for (;;) {
    ssize_t n = RecvCall(fd, into, want, flags);
    ++stats_.recv_calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return RecvError(stats_.bytes_received);
    }
    if (n == 0) return OkStatus();
    Account(buffer_.data(), static_cast<size_t>(n));
    if (stopped_reading()) return OkStatus();
  }
}

// The receive loop of the msg_zerocopy selftest's and send-zerocopy's receivers: poll()
// until the low-water mark's bytes are queued (or the end of the stream), then take what
// is there without blocking, so that the socket is owned only while bytes are taken.
Status StreamReceiver::RunPolling(int fd) {
  const bool discard = mode_ == ReceiverMode::kDiscard;
  uint8_t* const into = discard ? nullptr : buffer_.data();
  const size_t want = discard ? settings_.recv_bytes : buffer_.size();
  const int flags = MSG_DONTWAIT | (discard ? MSG_TRUNC : 0);
  const int timeout_ms = ReceiveTimeoutMs(fd);
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return SysError(fmt::format("receiver: poll after {} bytes", stats_.bytes_received));
    }
    if (ready == 0) {
      errno = EAGAIN;
      return RecvError(stats_.bytes_received);
    }
    ssize_t n = RecvCall(fd, into, want, flags);
    ++stats_.recv_calls;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return RecvError(stats_.bytes_received);
    }
    if (n == 0) return OkStatus();
    Account(buffer_.data(), static_cast<size_t>(n));
    if (stopped_reading()) return OkStatus();
  }
}

// The receive loop of the kernel's tcp_mmap selftest: wait for data, ask the kernel to
// map what it can, copy the rest (recv_skip_hint), and read the end of the stream with
// recv().
Status StreamReceiver::RunZeroCopy(int fd) {
  auto region = MappedRegion::OfFile(fd, kMapChunk, 0, PROT_READ, MAP_SHARED);
  if (!region.ok())
    return std::move(region).error().Context("receiver: mmap on the TCP socket for TCP_ZEROCOPY_RECEIVE");
  const int timeout_ms = ReceiveTimeoutMs(fd);
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      errno = EAGAIN;
      return RecvError(stats_.bytes_received);
    }
    // glibc's struct has the first three fields; the kernel takes the shorter form, and a
    // socket error then surfaces from the recv() below.
    tcp_zerocopy_receive zc{};
    zc.address = reinterpret_cast<uint64_t>(region->data());
    zc.length = static_cast<uint32_t>(region->size());
    socklen_t zc_len = sizeof zc;
    ++stats_.recv_calls;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &zc_len) != 0) {
      // After the peer's FIN the kernel answers EIO: recv() tells the end of the stream
      // from a real error.
      const Error error =
          SysError(fmt::format("receiver: getsockopt(TCP_ZEROCOPY_RECEIVE) after {} bytes", stats_.bytes_received));
      uint8_t probe;
      if (::recv(fd, &probe, 1, MSG_DONTWAIT | MSG_PEEK) == 0) return OkStatus();
      return error;
    }
    if (zc.length > 0) {
      Account(region->data(), zc.length);
      stats_.mapped_bytes += zc.length;
    }
    if (zc.recv_skip_hint > 0 || zc.length == 0) {
      // Bytes that cannot be mapped (not whole pages), or the end of the stream.
      const size_t want = zc.recv_skip_hint > 0 ? std::min<size_t>(zc.recv_skip_hint, buffer_.size()) : buffer_.size();
      ssize_t n = ::recv(fd, buffer_.data(), want, MSG_DONTWAIT);
      ++stats_.recv_calls;
      if (n == 0) return OkStatus();
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return RecvError(stats_.bytes_received);
      }
      Account(buffer_.data(), static_cast<size_t>(n));
      stats_.copied_bytes += static_cast<size_t>(n);
    }
  }
}

}  // namespace zcb
