#pragma once

// UniqueFd owns a file descriptor and closes it once (Seastar's file_desc, reduced to
// what zcbench needs). Pipe is the pair that splice and vmsplice move pages through.

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "stack/result.h"

namespace zcb {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;

  // A pipe whose capacity is raised to `capacity` bytes where the limit allows
  // (/proc/sys/fs/pipe-max-size); the capacity obtained is returned by Capacity().
  static Result<Pipe> Create(size_t capacity);
  size_t Capacity() const;
};

}  // namespace zcb
