#include "stack/datagram_receiver.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "stack/datagram.h"

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

// How long one blocking recvmmsg() waits before the receiver looks at the sender's state.
constexpr std::chrono::milliseconds kPollSlice{20};
// Buffer per received message: the largest UDP payload, or a GRO buffer of up to 64
// segments (the kernel caps those near 64 KiB; twice that leaves no doubt).
constexpr size_t kSlotBytes = 64 * 1024;
constexpr size_t kGroSlotBytes = 128 * 1024;
constexpr size_t kControlBytes = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t)) + 32;

}  // namespace

SequenceTracker::SequenceTracker(uint64_t window)
    : window_(std::bit_ceil(std::max<uint64_t>(window, 64))), mask_(window_ - 1), bits_(window_ / 64, 0) {}

uint64_t SequenceTracker::Extend(uint64_t low, unsigned bits) const {
  if (bits >= 64) return low;
  if (!any_) return low;
  const uint64_t range = uint64_t{1} << bits;
  const uint64_t base = highest_ & ~(range - 1);
  uint64_t best = base | low;
  // Of the candidates one range below, at, and above, the one nearest the highest seen.
  auto distance = [&](uint64_t c) { return c > highest_ ? c - highest_ : highest_ - c; };
  if (base >= range && distance((base - range) | low) < distance(best)) best = (base - range) | low;
  if (distance((base + range) | low) < distance(best)) best = (base + range) | low;
  return best;
}

void SequenceTracker::ClearRange(uint64_t first, uint64_t last) {
  // A word at a time: a sender that jumps far ahead with every datagram must not cost the
  // receiver a bit operation per skipped number. The range is shorter than the window, so
  // it touches each word of the ring at most once (plus the partial first and last words).
  // Counted down rather than compared with `last`: a range that ends at the largest
  // sequence number would wrap `first` to 0 and never end.
  for (uint64_t remaining = last - first + 1; remaining > 0;) {
    const uint64_t offset = first & 63;
    const uint64_t count = std::min<uint64_t>(64 - offset, remaining);
    const uint64_t bits = count == 64 ? ~uint64_t{0} : ((uint64_t{1} << count) - 1) << offset;
    bits_[(first & mask_) >> 6] &= ~bits;
    first += count;
    remaining -= count;
  }
}

SequenceTracker::Arrival SequenceTracker::Record(uint64_t s) {
  if (!any_) {
    any_ = true;
    highest_ = s;
    Set(s);
    ++received_;
    return Arrival::kNew;
  }
  if (s > highest_) {
    // The numbers between the old highest and s are now inside the window and unseen.
    if (s - highest_ >= window_) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      ClearRange(highest_ + 1, s);
    }
    highest_ = s;
    Set(s);
    ++received_;
    return Arrival::kNew;
  }
  if (highest_ - s >= window_) {
    ++stale_;
    return Arrival::kStale;
  }
  if (Test(s)) {
    ++duplicated_;
    return Arrival::kDuplicate;
  }
  Set(s);
  ++received_;
  ++reordered_;
  return Arrival::kReordered;
}

Result<DatagramReceiver> DatagramReceiver::Create(const DatagramReceiverConfig& config, const Pattern& pattern) {
  if (config.mode == ReceiverMode::kZeroCopy) {
    return Errorf(
        "receiver mode 'zerocopy' has no UDP form (TCP_ZEROCOPY_RECEIVE is TCP only); use verify, read or discard");
  }
  if (config.batch == 0) return Errorf("UDP receiver: the recvmmsg batch must be at least 1");
  DatagramReceiver receiver(config, pattern);
  const bool discard = config.mode == ReceiverMode::kDiscard;
  receiver.slot_bytes_ = discard ? kDatagramHeaderSize : (config.gro ? kGroSlotBytes : kSlotBytes);
  ZCB_ASSIGN_OR_RETURN(receiver.buffers_,
                       MappedRegion::Anonymous(RoundUp(receiver.slot_bytes_ * config.batch, PageSize())));
  receiver.messages_.resize(config.batch);
  receiver.iovecs_.resize(config.batch);
  receiver.control_.resize(kControlBytes * config.batch);
  for (size_t i = 0; i < config.batch; ++i) {
    receiver.iovecs_[i] = {receiver.buffers_.data() + i * receiver.slot_bytes_, receiver.slot_bytes_};
    msghdr& h = receiver.messages_[i].msg_hdr;
    h = msghdr{};
    h.msg_iov = &receiver.iovecs_[i];
    h.msg_iovlen = 1;
  }
  receiver.stats_.integrity.mode = config.mode;
  return receiver;
}

Result<UniqueFd> DatagramReceiver::OpenSocket(const sockaddr_storage& address) {
  UniqueFd fd(::socket(address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return SysError("UDP receiver: socket");
  // A receive queue deep enough for bursts: over net.core.rmem_max where the privilege
  // allows (SO_RCVBUFFORCE, CAP_NET_ADMIN), else capped by it. The record says which.
  const int want = static_cast<int>(std::min<size_t>(config_.receive_buffer, INT32_MAX / 2));
  stats_.receive_buffer_forced = ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0;
  if (!stats_.receive_buffer_forced && ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &want, sizeof want) != 0) {
    return SysError("UDP receiver: setsockopt(SO_RCVBUF)");
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &got, &len) == 0)
    stats_.receive_buffer_bytes = static_cast<uint64_t>(got);
  const int one = 1;
  // The kernel's count of datagrams dropped for a full queue, with every datagram.
  stats_.queue_drops_known = ::setsockopt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) == 0;
  if (config_.gro && ::setsockopt(fd.get(), SOL_UDP, UDP_GRO, &one, sizeof one) != 0) {
    return SysError("UDP receiver: setsockopt(UDP_GRO) (needs Linux 5.0 or later; run without --gro)");
  }
  timeval tv{0, static_cast<suseconds_t>(std::chrono::duration_cast<std::chrono::microseconds>(kPollSlice).count())};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
    return SysError("UDP receiver: setsockopt(SO_RCVTIMEO)");
  const socklen_t addr_len = address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), addr_len) != 0)
    return SysError("UDP receiver: bind");
  return fd;
}

void DatagramReceiver::Account(const uint8_t* data, size_t available, size_t length) {
  stats_.bytes_received += length;
  if (length == 0) {
    ++stats_.empty;
    return;
  }
  const bool verify = config_.mode == ReceiverMode::kVerify;
  const DatagramHeaderView view =
      ParseDatagramHeader({data, std::min(available, kDatagramHeaderSize)}, length, config_.flow_id);
  if (!view.well_formed) {
    ++stats_.malformed;
    if (verify) stats_.integrity.mismatches += length;
    return;
  }
  const uint64_t sequence = tracker_.Extend(view.sequence, view.sequence_bits);
  bool intact = true;
  if (verify && length > kDatagramHeaderSize && available >= length) {
    std::span<const uint8_t> payload(data + kDatagramHeaderSize, length - kDatagramHeaderSize);
    const uint64_t offset = DatagramPayloadOffset(sequence);
    const ptrdiff_t bad = pattern_->FindMismatch(offset, payload);
    if (bad >= 0) {
      intact = false;
      ++stats_.corrupt;
      if (!stats_.first_corrupt_sequence) {
        stats_.first_corrupt_sequence = sequence;
        stats_.integrity.first_mismatch_offset = kDatagramHeaderSize + static_cast<uint64_t>(bad);
      }
      stats_.integrity.mismatches += pattern_->CountMismatches(offset, payload);
    }
  }
  const SequenceTracker::Arrival arrival = tracker_.Record(sequence);
  if (arrival == SequenceTracker::Arrival::kNew || arrival == SequenceTracker::Arrival::kReordered) {
    stats_.unique_bytes += length;
    if (verify && intact) stats_.integrity.verified_bytes += length;
  }
}

void DatagramReceiver::AccountBuffer(const uint8_t* data, size_t available, size_t length, size_t segment) {
  if (segment == 0 || length <= segment) {
    Account(data, available, length);
    return;
  }
  ++stats_.coalesced_buffers;
  // Several datagrams of one flow, each `segment` bytes but the last.
  std::optional<uint64_t> first_sequence;
  for (size_t at = 0, k = 0; at < length; at += segment, ++k) {
    const size_t seg_len = std::min(segment, length - at);
    if (at + std::min(seg_len, kDatagramHeaderSize) <= available) {
      Account(data + at, std::min(available - at, seg_len), seg_len);
      if (k == 0) {
        const DatagramHeaderView view =
            ParseDatagramHeader({data, std::min(available, kDatagramHeaderSize)}, seg_len, config_.flow_id);
        // Extended against the highest seen, which is now this datagram's number.
        if (view.well_formed) first_sequence = tracker_.Extend(view.sequence, view.sequence_bits);
      }
      continue;
    }
    // discard mode: this datagram's header was not copied. GRO merges consecutive
    // datagrams of a flow, so its sequence number follows the first one's.
    stats_.bytes_received += seg_len;
    if (!first_sequence) {
      ++stats_.malformed;
      continue;
    }
    const SequenceTracker::Arrival arrival = tracker_.Record(*first_sequence + k);
    if (arrival == SequenceTracker::Arrival::kNew || arrival == SequenceTracker::Arrival::kReordered)
      stats_.unique_bytes += seg_len;
  }
}

void DatagramReceiver::FinishCounts() {
  stats_.datagrams_received = tracker_.received();
  stats_.duplicated = tracker_.duplicated();
  stats_.reordered = tracker_.reordered();
  stats_.stale = tracker_.stale();
  stats_.highest_sequence = tracker_.highest();
}

Status DatagramReceiver::Run(int fd, const DatagramEnd& end) {
  const bool discard = config_.mode == ReceiverMode::kDiscard;
  const int flags = MSG_WAITFORONE | (discard ? MSG_TRUNC : 0);
  const int vlen = static_cast<int>(messages_.size());
  std::optional<Clock::time_point> sender_done_at;
  Status status = OkStatus();
  for (;;) {
    for (int i = 0; i < vlen; ++i) {
      msghdr& h = messages_[i].msg_hdr;
      h.msg_control = control_.data() + static_cast<size_t>(i) * kControlBytes;
      h.msg_controllen = kControlBytes;
      h.msg_flags = 0;
    }
    const int n = ::recvmmsg(fd, messages_.data(), static_cast<unsigned>(vlen), flags, nullptr);
    ++stats_.recv_calls;
    const Clock::time_point now = Clock::now();
    if (n < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        status = SysError(fmt::format("UDP receiver: recvmmsg after {} datagrams", tracker_.received()));
        break;
      }
    } else if (n > 0) {
      if (stats_.first_arrival == Clock::time_point{}) stats_.first_arrival = now;
      stats_.last_arrival = now;
      for (int i = 0; i < n; ++i) {
        const size_t length = messages_[i].msg_len;
        msghdr& h = messages_[i].msg_hdr;
        size_t segment = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int gso_size = 0;
            std::memcpy(&gso_size, CMSG_DATA(c), sizeof gso_size);
            if (gso_size > 0) segment = static_cast<size_t>(gso_size);
          } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops = 0;
            std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
            stats_.queue_drops = std::max<uint64_t>(stats_.queue_drops, drops);
          }
        }
        const uint8_t* data = static_cast<const uint8_t*>(iovecs_[i].iov_base);
        if (!discard && (h.msg_flags & MSG_TRUNC) != 0) {
          // Larger than the buffer: cannot be one of ours, and cannot be checked.
          stats_.bytes_received += length;
          ++stats_.malformed;
          if (config_.mode == ReceiverMode::kVerify) stats_.integrity.mismatches += length;
          continue;
        }
        AccountBuffer(data, std::min(length, slot_bytes_), length, segment);
      }
    }
    if (end.abort.load(std::memory_order_acquire)) break;
    if (end.sender_done.load(std::memory_order_acquire)) {
      if (!sender_done_at) sender_done_at = now;
      if (tracker_.received() >= end.datagrams_sent.load(std::memory_order_acquire)) {
        stats_.all_arrived = true;
        break;
      }
      const Clock::time_point quiet_since = std::max(*sender_done_at, stats_.last_arrival);
      if (now - quiet_since >= config_.drain) break;
    }
  }
  FinishCounts();
  return status;
}

}  // namespace zcb
