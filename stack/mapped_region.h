#pragma once

// MappedRegion owns one mmap() and unmaps it once. Used for payload buffers, the
// write-from-mmap strategy's file windows and the memfd of generated data.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "stack/result.h"

namespace zcb {

class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  MappedRegion(MappedRegion&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedRegion& operator=(MappedRegion&& other) noexcept {
    if (this != &other) {
      Reset();
      addr_ = std::exchange(other.addr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~MappedRegion() { Reset(); }

  // Anonymous private memory, page aligned (payload buffers).
  static Result<MappedRegion> Anonymous(size_t size);
  // A mapping of `size` bytes of `fd` from `offset` (a multiple of the page size).
  static Result<MappedRegion> OfFile(int fd, size_t size, off_t offset, int prot, int flags);

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }
  std::span<uint8_t> span() const { return {data(), size_}; }
  bool valid() const { return addr_ != nullptr; }
  void Reset();

 private:
  MappedRegion(void* addr, size_t size) : addr_(addr), size_(size) {}
  void* addr_ = nullptr;
  size_t size_ = 0;
};

size_t PageSize();
inline size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }
inline size_t RoundDown(size_t n, size_t to) { return n / to * to; }

}  // namespace zcb
