#include "stack/mapped_region.h"

#include <unistd.h>

namespace zcb {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

Result<MappedRegion> MappedRegion::Anonymous(size_t size) {
  if (size == 0) return Errorf("cannot map an empty region");
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) return SysError(fmt::format("mmap {} anonymous bytes", size));
  return MappedRegion(addr, size);
}

Result<MappedRegion> MappedRegion::OfFile(int fd, size_t size, off_t offset, int prot, int flags) {
  if (size == 0) return Errorf("cannot map an empty region");
  void* addr = ::mmap(nullptr, size, prot, flags, fd, offset);
  if (addr == MAP_FAILED) return SysError(fmt::format("mmap {} bytes of fd {} at offset {}", size, fd, offset));
  return MappedRegion(addr, size);
}

void MappedRegion::Reset() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

}  // namespace zcb
