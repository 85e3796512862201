#pragma once

// Payload sources: where the bytes a strategy sends come from.
//
//   memory     a static anonymous buffer of W + max_message bytes holding the pattern,
//              W the working set; stream offset o is at MemoryAt(o). Nothing is written in
//              the timed window.
//   file       a file of W + max_message bytes zcbench creates and fills with the pattern
//              (tmpfs by default, or a directory on disk); stream offset o is file offset
//              FileOffset(o). The page cache is warm by default; `cold` drops it
//              (POSIX_FADV_DONTNEED) first and before every later pass over the file
//              (BeforeSend), so that every byte sent is read from the device.
//
// The working set W (a multiple of the pattern period P, so that the pattern repeats
// across it) decides where the sends read from: by default several times the last-level
// cache (DefaultWorkingSet), so that they read from DRAM as a server's would; a W that
// fits the cache measures cache-resident sends.
//   generated  a shared memfd mapping (a ring of slots) that the sender writes each
//              message into before sending it, as a server generates a response. Because
//              it is a tmpfs file, it can also be sendfile()d (memfd_sendfile).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "stack/mapped_region.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/types.h"
#include "stack/unique_fd.h"

namespace zcb {

struct PayloadConfig {
  SourceKind kind = SourceKind::kMemory;
  size_t max_message = 0;     // the largest single message a strategy will send
  std::string file_dir;       // file source: empty = tmpfs
  bool cold = false;          // file source: drop the page cache before every pass
  size_t working_set = 0;     // memory and file sources: bytes cycled through; 0 = one pattern period
  size_t ring_bytes = 0;      // generated source: 0 = max(8 slots, 4 MiB)
};

// The host's last-level cache, from sysfs (the highest-level data or unified cache of
// CPU 0); nullopt when sysfs does not say.
struct CacheSize {
  size_t bytes = 0;
  std::string source;  // the sysfs file it came from
};
std::optional<CacheSize> LastLevelCache();

// The default working set: kWorkingSetPerLlc times the last-level cache, or
// kWorkingSetWithoutLlc when the cache size is unknown.
inline constexpr size_t kWorkingSetPerLlc = 4;
inline constexpr size_t kWorkingSetWithoutLlc = 256ull << 20;
size_t DefaultWorkingSet();

class Payload {
 public:
  static Result<std::unique_ptr<Payload>> Create(const PayloadConfig& config, const Pattern& pattern);

  SourceKind kind() const { return config_.kind; }
  const PayloadConfig& config() const { return config_; }
  const Pattern& pattern() const { return pattern_; }

  // The bytes the memory or file source cycles through: the working set rounded up to a
  // whole number of pattern periods.
  size_t cycle() const { return cycle_; }

  // memory: the stream bytes from `offset` (up to max_message of them).
  const uint8_t* MemoryAt(uint64_t offset) const { return memory_.data() + offset % cycle_; }
  const MappedRegion& memory() const { return memory_; }

  // file (and generated, whose ring is a file too): the descriptor.
  int fd() const { return fd_.get(); }
  // file: where stream offset `offset` lies in the file.
  off_t FileOffset(uint64_t offset) const { return static_cast<off_t>(offset % cycle_); }
  size_t file_size() const { return file_size_; }
  // file: "tmpfs" or the directory's file system, for the record.
  const std::string& file_system() const { return file_system_; }

  // generated: the shared mapping of the ring file; slot i is at ring().data() + i * slot_size().
  const MappedRegion& ring() const { return ring_; }
  size_t slot_size() const { return slot_size_; }
  size_t slot_count() const { return ring_.size() / slot_size_; }
  // Writes stream bytes [offset, offset + len) into slot `slot`.
  void Generate(size_t slot, uint64_t offset, size_t len);

  // file: drops the file's pages from the page cache (for `cold`).
  Status DropPageCache() const;
  // Called by the send loop, on the sender's thread, before the message at stream
  // `offset`: for a cold file, the first message of each later pass over the file drops
  // its pages again (pages still held by unsent data stay cached; the record's count of
  // bytes read from the device tells).
  Status BeforeSend(uint64_t offset);
  // file: how often BeforeSend dropped the page cache (cold file, passes after the first).
  uint64_t page_cache_drops() const { return drops_; }

 private:
  Payload(PayloadConfig config, const Pattern& pattern) : config_(std::move(config)), pattern_(pattern) {}
  Status CreateFile();
  Status CreateRing();

  PayloadConfig config_;
  Pattern pattern_;
  size_t cycle_ = 0;
  uint64_t next_pass_at_ = 0;  // BeforeSend: the stream offset that starts the next pass
  uint64_t drops_ = 0;
  MappedRegion memory_;
  UniqueFd fd_;
  size_t file_size_ = 0;
  std::string file_system_;
  MappedRegion ring_;
  size_t slot_size_ = 0;
};

}  // namespace zcb
