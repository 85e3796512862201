#pragma once

// Payload sources: where the bytes a strategy sends come from, made before the window
// opens. The stack reads them through Payload (stack/payload.h); this file makes them.
//
//   memory     a static anonymous buffer filled with the pattern; nothing is written in
//              the timed window.
//   file       a file zcbench creates and fills with the pattern (tmpfs by default, or a
//              directory on disk). The page cache is warm by default; `cold` drops it
//              (POSIX_FADV_DONTNEED) first and before every later pass over the file
//              (BeforeSend), so that every byte sent is read from the device.
//   generated  a shared memfd ring of slots that the sender writes each message into.
//
// The working set W (a multiple of the pattern period P, so that the pattern repeats
// across it) decides where the sends read from: by default several times the last-level
// cache (DefaultWorkingSet), so that they read from DRAM as a server's would; a W that
// fits the cache measures cache-resident sends.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "stack/pattern.h"
#include "stack/payload.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

struct PayloadConfig {
  SourceKind kind = SourceKind::kMemory;
  size_t max_message = 0;  // the largest single message a strategy will send
  std::string file_dir;    // file source: empty = tmpfs
  bool cold = false;       // file source: drop the page cache before every pass
  size_t working_set = 0;  // memory and file sources: bytes cycled through; 0 = one pattern period
  size_t ring_bytes = 0;   // generated source: 0 = max(8 slots, 4 MiB)
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

// A payload, made and filled, with what the sender's loop and the record need beyond the
// bytes: the configuration, the file's file system, the cold cache's passes.
class PayloadSource final : public Payload {
 public:
  static Result<std::unique_ptr<PayloadSource>> Create(const PayloadConfig& config, const Pattern& pattern);
  ~PayloadSource() = default;

  const PayloadConfig& config() const { return config_; }
  // file: "tmpfs" or the directory's file system, for the record.
  const std::string& file_system() const { return file_system_; }

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
  PayloadSource(PayloadConfig config, const Pattern& pattern)
      : Payload(config.kind, pattern), config_(std::move(config)) {}
  Status CreateFile();
  Status CreateRing();

  PayloadConfig config_;
  uint64_t next_pass_at_ = 0;  // BeforeSend: the stream offset that starts the next pass
  uint64_t drops_ = 0;
  std::string file_system_;
};

}  // namespace zcb
