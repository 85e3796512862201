#include "stack/unique_fd.h"

namespace zcb {

Result<Pipe> Pipe::Create(size_t capacity) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return SysError("pipe2");
  Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  if (capacity > 0) {
    // A larger pipe lets one splice move a whole message; failure (above
    // pipe-max-size for an unprivileged user) leaves the default 64 KiB, which still works.
    (void)::fcntl(pipe.write_end.get(), F_SETPIPE_SZ, static_cast<int>(capacity));
  }
  return pipe;
}

size_t Pipe::Capacity() const {
  int size = ::fcntl(write_end.get(), F_GETPIPE_SZ);
  return size > 0 ? static_cast<size_t>(size) : 0;
}

}  // namespace zcb
