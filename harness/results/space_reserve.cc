#include "harness/results/space_reserve.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include "stack/unique_fd.h"

namespace zcb {

SpaceReserve::SpaceReserve(SpaceReserve&& other) noexcept
    : path_(std::move(other.path_)), held_bytes_(std::exchange(other.held_bytes_, 0)) {
  other.path_.clear();
}

SpaceReserve& SpaceReserve::operator=(SpaceReserve&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::move(other.path_);
    other.path_.clear();
    held_bytes_ = std::exchange(other.held_bytes_, 0);
  }
  return *this;
}

Status SpaceReserve::Ensure(uint64_t bytes) {
  if (path_.empty() || bytes <= held_bytes_) return OkStatus();
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return SysError(fmt::format("create the space reserve {}", path_));
  // posix_fallocate returns the error instead of setting errno; where the file system
  // cannot allocate without writing, glibc writes the blocks.
  if (const int rc = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)); rc != 0) {
    return Error(rc, fmt::format("keep {} bytes aside in {} for the run's last manifest", bytes, path_));
  }
  held_bytes_ = bytes;
  return OkStatus();
}

void SpaceReserve::Release() {
  if (path_.empty()) return;
  if (::unlink(path_.c_str()) == 0 || errno == ENOENT) held_bytes_ = 0;
}

}  // namespace zcb
