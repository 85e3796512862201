#include "stack/stream_receiver.h"

#include <sys/socket.h>

#include <cerrno>

namespace zcb {

Result<StreamReceiver> StreamReceiver::Create(ReceiverMode mode, const Pattern& pattern, size_t buffer_size) {
  if (mode == ReceiverMode::kZeroCopy) {
    return Errorf("receiver mode 'zerocopy' is not available for this stream receiver; use verify, read or discard");
  }
  ZCB_ASSIGN_OR_RETURN(MappedRegion buffer, MappedRegion::Anonymous(RoundUp(buffer_size, PageSize())));
  StreamReceiver receiver(mode, pattern, std::move(buffer));
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
  const int flags = mode_ == ReceiverMode::kDiscard ? MSG_TRUNC : 0;
  for (;;) {
    ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), flags);
    ++stats_.recv_calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Errorf("receiver: no data for the receive timeout after {} bytes: the sender stalled or went away",
                      stats_.bytes_received);
      }
      return SysError(fmt::format("receiver: recv after {} bytes", stats_.bytes_received));
    }
    if (n == 0) return OkStatus();
    const auto now = std::chrono::steady_clock::now();
    if (stats_.bytes_received == 0) stats_.first_byte = now;
    stats_.last_byte = now;
    if (mode_ == ReceiverMode::kVerify) Check(stats_.bytes_received, buffer_.data(), static_cast<size_t>(n));
    stats_.bytes_received += static_cast<uint64_t>(n);
    progress_->store(stats_.bytes_received, std::memory_order_release);
  }
}

}  // namespace zcb
