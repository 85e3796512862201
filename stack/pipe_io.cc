#include "stack/pipe_io.h"

#include <fcntl.h>

#include <cerrno>
#include <climits>
#include <fstream>

#include "stack/mapped_region.h"
#include "stack/socket_io.h"
#include "stack/types.h"

namespace zcb {

Result<Pipe> CreateSizedPipe(uint64_t capacity, std::string_view owner) {
  if (capacity < PageSize() || capacity > static_cast<uint64_t>(kMaxPipeSize)) {
    return Errorf("{} option pipe_size={}: a pipe holds from one page ({} bytes) to 1G", owner, capacity, PageSize());
  }
  ZCB_ASSIGN_OR_RETURN(Pipe pipe, Pipe::Create(capacity));
  const size_t got = pipe.Capacity();
  if (got < capacity) {
    uint64_t max_size = 0;
    std::ifstream("/proc/sys/fs/pipe-max-size") >> max_size;
    return Errorf(
        "{}: could not raise the pipe to pipe_size={} (it holds {}): an unprivileged user may ask for at "
        "most /proc/sys/fs/pipe-max-size ({}), and fs.pipe-user-pages-soft pages in all; ask for less, "
        "raise the limit, or run with CAP_SYS_RESOURCE",
        owner, FormatSize(capacity), FormatSize(got), FormatSize(max_size));
  }
  return pipe;
}

Status SpliceToSocket(int pipe_read, int socket_fd, size_t len, bool more, uint64_t* calls) {
  const unsigned flags = SPLICE_F_MOVE | (more ? SPLICE_F_MORE : 0u);
  while (len > 0) {
    ssize_t n = ::splice(pipe_read, nullptr, socket_fd, nullptr, len, flags);
    ++*calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return SysError("splice into the socket: the send timeout passed with the receiver not reading");
      }
      return SendError("splice into the socket");
    }
    if (n == 0) return Errorf("splice into the socket moved nothing with {} bytes left in the pipe", len);
    len -= static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace zcb
