#pragma once

// What the io_uring stream and datagram senders share: the completion accounting of a
// SEND/SEND_ZC request, the registered socket, and the two constructors that
// CreateIoUringSender (io_uring_sender.cc) chooses between. Only those three files include it.

#include <liburing.h>

#include <memory>

#include "stack/io_uring_ring.h"
#include "stack/io_uring_sender.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/zerocopy_completions.h"

// liburing 2.3's headers predate Linux 6.2's usage report for SEND_ZC.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

namespace zcb {

// A SEND_ZC notification CQE: the kernel is done with the buffer of send `seq`, which it
// sent from the pages (zero-copy) or copied first (IORING_NOTIF_USAGE_ZC_COPIED).
inline Status AccountNotification(CompletionWindow& window, ZeroCopyStats& stats, uint64_t seq, int32_t res,
                                  const char* op_name, const char* what) {
  Status s = window.Complete(seq, 1);
  if (!s.ok()) return Errorf("{}: notification for {} {}: {}", op_name, what, seq, s.error().what());
  ++stats.completions;
  if (static_cast<uint32_t>(res) & IORING_NOTIF_USAGE_ZC_COPIED) {
    ++stats.copied;
  } else {
    ++stats.zerocopy;
  }
  return OkStatus();
}

// A result CQE: a copying send is done with its buffer now; a zero-copy one when its
// notification arrives (none follows a result without IORING_CQE_F_MORE).
inline Status ReleaseUnlessNotified(CompletionWindow& window, uint64_t seq, uint32_t flags, const char* op_name,
                                    const char* what) {
  if (flags & IORING_CQE_F_MORE) return OkStatus();
  Status s = window.Complete(seq, 1);
  if (!s.ok()) return Errorf("{}: result for {} {}: {}", op_name, what, seq, s.error().what());
  return OkStatus();
}

// Names the socket by its index (0) in the ring's registered files instead of its fd.
inline void UseRegisteredSocket(io_uring_sqe* sqe) {
  sqe->fd = 0;
  sqe->flags |= IOSQE_FIXED_FILE;
}

// Registers what the configuration asks for: the socket as fixed file 0, the ring fd.
inline Status RegisterFiles(IoUringRing& ring, int fd, const IoUringSendConfig& config) {
  if (!config.registered_files) return OkStatus();
  ZCB_RETURN_IF_ERROR(ring.RegisterFile(fd));
  return ring.RegisterRingFd();
}

// `name` is the strategy's, for error messages.
Result<std::unique_ptr<SendStrategy>> CreateIoUringStreamSender(const SendContext& ctx, const IoUringSendConfig& config,
                                                                const char* name);
Result<std::unique_ptr<SendStrategy>> CreateIoUringDatagramSender(const SendContext& ctx,
                                                                  const IoUringSendConfig& config, const char* name);

}  // namespace zcb
