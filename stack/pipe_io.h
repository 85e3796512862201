#pragma once

// The pipe half of the splice and vmsplice strategies: a pipe of a checked size, and
// moving what sits in it into a socket with splice().

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

// The largest pipe_size the pipe strategies take (the kernel's own limit is 1 GiB too
// for a privileged user; others are held to /proc/sys/fs/pipe-max-size).
inline constexpr int64_t kMaxPipeSize = 1ll << 30;

// A pipe of at least `capacity` bytes (the kernel rounds up to a power of two pages).
// Unlike Pipe::Create, failing to get the size asked for is an error naming `owner`
// (e.g. "strategy splice"), the limit and what to do: a pipe silently left at 64 KiB
// would measure something else than what was asked.
Result<Pipe> CreateSizedPipe(uint64_t capacity, std::string_view owner);

// splice()s exactly `len` bytes from the pipe's read end into `socket_fd`, looping over
// partial transfers. `more` says that more payload follows right after these bytes
// (SPLICE_F_MORE, MSG_MORE's splice spelling: no push of a partial segment). Adds the
// calls made to *calls. No allocation unless it fails.
Status SpliceToSocket(int pipe_read, int socket_fd, size_t len, bool more, uint64_t* calls);

}  // namespace zcb
