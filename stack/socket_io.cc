#include "stack/socket_io.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

namespace zcb {

ssize_t SendCall(int fd, const void* data, size_t len, int flags) {
  return ::syscall(SYS_sendto, fd, data, len, flags, nullptr, 0);
}

ssize_t RecvCall(int fd, void* data, size_t len, int flags) {
  return ::syscall(SYS_recvfrom, fd, data, len, flags, nullptr, nullptr);
}

Status SetTimeout(int fd, int option, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  if (::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) != 0) return SysError("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
  return OkStatus();
}

Error SendError(const char* call) {
  if (errno == EPIPE || errno == ECONNRESET)
    return SysError(fmt::format("{}: the receiver closed the connection", call));
  // A blocking socket's SO_SNDTIMEO passed with the send buffer full.
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return Errorf(
        "{}: no progress within the send timeout: the receiver stopped reading, or the path stopped "
        "delivering",
        call);
  return SysError(call);
}

Status SendAll(int fd, const uint8_t* data, size_t len, int flags, uint64_t* calls) {
  while (len > 0) {
    ssize_t n = SendCall(fd, data, len, flags | MSG_NOSIGNAL);
    ++*calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return SendError("send");
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return OkStatus();
}

Status WritevAll(int fd, struct iovec* iov, int iovcnt, uint64_t* calls) {
  while (iovcnt > 0) {
    ssize_t n = ::writev(fd, iov, iovcnt);
    ++*calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return SendError("writev");
    }
    auto left = static_cast<size_t>(n);
    while (iovcnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --iovcnt;
    }
    if (iovcnt > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return OkStatus();
}

Status SendfileAll(int out_fd, int in_fd, off_t offset, size_t len, uint64_t* calls) {
  while (len > 0) {
    ssize_t n = ::sendfile(out_fd, in_fd, &offset, len);
    ++*calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return SendError("sendfile");
    }
    if (n == 0) return Errorf("sendfile: unexpected end of the payload file at offset {}", offset);
    len -= static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace zcb
