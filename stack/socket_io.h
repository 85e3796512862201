#pragma once

// Blocking socket helpers shared by strategies and receivers: loops over short
// transfers and EINTR so that callers deal in whole messages.

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "stack/result.h"

namespace zcb {

// send() and recv() as bare system calls. glibc's wrappers are cancellation points: in a
// multi-threaded process (a trial runs its sender and receiver as threads of one) each
// call switches asynchronous cancellation on and off around the system call, a cost per
// call (a few percent of the CPU of 4 KiB sends) that a single-threaded peer does not pay.
// zcbench never cancels a thread.
ssize_t SendCall(int fd, const void* data, size_t len, int flags);
ssize_t RecvCall(int fd, void* data, size_t len, int flags);

// send() until all `len` bytes are accepted; adds the calls made to *calls.
Status SendAll(int fd, const uint8_t* data, size_t len, int flags, uint64_t* calls);

// writev() until every byte of `iov` is written; `iov` is modified as it goes.
Status WritevAll(int fd, struct iovec* iov, int iovcnt, uint64_t* calls);

// sendfile() until `len` bytes from `offset` of `in_fd` are sent.
Status SendfileAll(int out_fd, int in_fd, off_t offset, size_t len, uint64_t* calls);

// SO_RCVTIMEO / SO_SNDTIMEO (`option`), so that a stalled peer fails a call instead of
// hanging it (Linux also bounds a blocking connect() by SO_SNDTIMEO).
Status SetTimeout(int fd, int option, double seconds);

// The errno of a failed send mapped to what the user should know (a peer that went away).
Error SendError(const char* call);

}  // namespace zcb
