#include "workloads/payload_source.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace zcb {
namespace {

// Writes all of `data` at `offset`, retrying short writes.
Status WriteAll(int fd, const uint8_t* data, size_t len, off_t offset) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("write the pattern file");
    }
    data += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return OkStatus();
}

}  // namespace

std::optional<CacheSize> LastLevelCache() {
  std::optional<CacheSize> best;
  int best_level = 0;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/", index);
    std::ifstream level_file(dir + "level"), type_file(dir + "type"), size_file(dir + "size");
    int level = 0;
    std::string type, size;
    if (!(level_file >> level) || !(type_file >> type) || !(size_file >> size)) continue;
    if (type == "Instruction" || level <= best_level || size.empty()) continue;
    // "32768K": sysfs gives K (or M) units.
    size_t unit = 1;
    if (size.back() == 'K') unit = 1024;
    if (size.back() == 'M') unit = 1024 * 1024;
    const size_t value = std::strtoull(size.c_str(), nullptr, 10) * unit;
    if (value == 0) continue;
    best = CacheSize{value, dir + "size"};
    best_level = level;
  }
  return best;
}

size_t DefaultWorkingSet() {
  static const size_t bytes = [] {
    const auto llc = LastLevelCache();
    return llc ? kWorkingSetPerLlc * llc->bytes : kWorkingSetWithoutLlc;
  }();
  return bytes;
}

Result<std::unique_ptr<PayloadSource>> PayloadSource::Create(const PayloadConfig& config, const Pattern& pattern) {
  if (config.max_message == 0) return Errorf("payload: message size must be at least 1 byte");
  std::unique_ptr<PayloadSource> payload(new PayloadSource(config, pattern));
  // The pattern repeats every period: a whole number of periods keeps it seamless.
  payload->cycle_ = RoundUp(std::max(config.working_set, pattern.period()), pattern.period());
  switch (config.kind) {
    case SourceKind::kMemory: {
      ZCB_ASSIGN_OR_RETURN(payload->memory_,
                           MappedRegion::Anonymous(RoundUp(payload->cycle_ + config.max_message, PageSize())));
      pattern.Fill(0, payload->memory_.span());
      break;
    }
    case SourceKind::kFile:
      ZCB_RETURN_IF_ERROR(payload->CreateFile());
      break;
    case SourceKind::kGenerated:
      ZCB_RETURN_IF_ERROR(payload->CreateRing());
      break;
  }
  return payload;
}

Status PayloadSource::CreateFile() {
  const std::string dir = config_.file_dir.empty() ? "/dev/shm" : config_.file_dir;
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) {
    if (!config_.file_dir.empty()) return SysError(fmt::format("file source directory {}", dir));
  }
  const bool tmpfs = fs.f_type == TMPFS_MAGIC;
  if (config_.file_dir.empty() && !tmpfs) {
    // No tmpfs at /dev/shm: a memfd is tmpfs-backed too.
    fd_.Reset(::memfd_create("zcb-payload", MFD_CLOEXEC));
    if (!fd_) return SysError("memfd_create for the payload file");
    file_system_ = "tmpfs";
  } else {
    // O_TMPFILE: the file has no name, so a killed run leaves nothing behind.
    fd_.Reset(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd_) return SysError(fmt::format("create a temporary payload file in {} (O_TMPFILE)", dir));
    file_system_ = tmpfs ? "tmpfs" : fmt::format("0x{:x}", static_cast<unsigned long>(fs.f_type));
  }
  if (config_.cold && file_system_ == "tmpfs") {
    return Errorf(
        "a cold page cache needs a file on disk: tmpfs pages cannot be dropped; "
        "give a directory on a disk file system (--file-dir DIR)");
  }
  file_size_ = RoundUp(cycle_ + config_.max_message, PageSize());
  std::vector<uint8_t> chunk(std::min<size_t>(file_size_, 4 << 20));
  for (size_t done = 0; done < file_size_; done += chunk.size()) {
    const size_t n = std::min(chunk.size(), file_size_ - done);
    pattern_.Fill(done, {chunk.data(), n});
    ZCB_RETURN_IF_ERROR(WriteAll(fd_.get(), chunk.data(), n, static_cast<off_t>(done)));
  }
  if (config_.cold) ZCB_RETURN_IF_ERROR(DropPageCache());
  return OkStatus();
}

Status PayloadSource::DropPageCache() const {
  // Dirty pages cannot be dropped: write them back first.
  if (::fsync(fd_.get()) != 0) return SysError("fsync the payload file before dropping its page cache");
  int rc = ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return Error(rc, "posix_fadvise(POSIX_FADV_DONTNEED) on the payload file");
  return OkStatus();
}

Status PayloadSource::BeforeSend(uint64_t offset) {
  if (!config_.cold || config_.kind != SourceKind::kFile) return OkStatus();
  if (next_pass_at_ == 0) next_pass_at_ = cycle_;  // the first pass reads the file dropped at creation
  if (offset < next_pass_at_) return OkStatus();
  next_pass_at_ = (offset / cycle_ + 1) * cycle_;
  ++drops_;
  int rc = ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return Error(rc, "posix_fadvise(POSIX_FADV_DONTNEED) on the payload file before a new pass");
  return OkStatus();
}

Status PayloadSource::CreateRing() {
  slot_size_ = RoundUp(config_.max_message, PageSize());
  size_t bytes = config_.ring_bytes != 0 ? config_.ring_bytes : std::max<size_t>(8 * slot_size_, 4 << 20);
  bytes = std::max(RoundUp(bytes, slot_size_), slot_size_);
  fd_.Reset(::memfd_create("zcb-generated", MFD_CLOEXEC));
  if (!fd_) return SysError("memfd_create for the generated-data ring");
  if (::ftruncate(fd_.get(), static_cast<off_t>(bytes)) != 0) return SysError("size the generated-data ring");
  ZCB_ASSIGN_OR_RETURN(ring_, MappedRegion::OfFile(fd_.get(), bytes, 0, PROT_READ | PROT_WRITE, MAP_SHARED));
  // Fault the pages in now so that the first lap does not pay for it inside the window.
  std::memset(ring_.data(), 0, ring_.size());
  file_size_ = bytes;
  file_system_ = "tmpfs";
  return OkStatus();
}

}  // namespace zcb
